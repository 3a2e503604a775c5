/**
 * Where Label Review opens, as a plain choice (no `vscode` import, so it is unit-tested directly). Editor groups are
 * named by their view column (1, 2, …); a column one past the last group makes a new group to the right.
 *
 * The panel goes beside the dataset, never beside whatever group happens to be active: opening it from a second
 * group that shows another file used to add a third column (issue 10 §3.6). In order:
 * - an open panel stays in its group (it is revealed, not moved);
 * - the dataset is shown in a group (the active one first): the group right of it, else the group left of it, else a
 *   new group right of it — a neighbour that shows the dataset too is taken only when no other is there;
 * - the dataset is not shown: the active group when it is empty, else its neighbour as above.
 */
export interface ReviewColumnSources {
  /** The view column of every editor group, in any order. */
  groups: readonly { column: number; empty: boolean }[];
  /** The active group's column (undefined when none is known). */
  activeColumn: number | undefined;
  /** Columns of the groups whose visible editor shows the dataset. */
  datasetColumns: readonly number[];
  /** Column of the open Label Review panel (undefined when none is open). */
  panelColumn: number | undefined;
}

export function chooseReviewColumn(sources: ReviewColumnSources): number {
  if (sources.panelColumn !== undefined) return sources.panelColumn;
  const existing = new Set(sources.groups.map((group) => group.column));
  const showsDataset = new Set(sources.datasetColumns);
  const beside = (anchor: number): number => {
    const neighbours = [anchor + 1, anchor - 1].filter((column) => column >= 1 && existing.has(column));
    return neighbours.find((column) => !showsDataset.has(column)) ?? neighbours[0] ?? anchor + 1;
  };
  const active = sources.activeColumn;
  if (sources.datasetColumns.length > 0) {
    const anchor = active !== undefined && showsDataset.has(active) ? active : Math.min(...sources.datasetColumns);
    return beside(anchor);
  }
  if (active === undefined) return sources.groups.length > 0 ? Math.min(...existing) : 1;
  const activeGroup = sources.groups.find((group) => group.column === active);
  return !activeGroup || activeGroup.empty ? active : beside(active);
}

export interface DatasetColumnSources {
  /** The view column of every editor group, in any order. */
  groups: readonly { column: number; empty: boolean }[];
  /** Columns of the groups whose visible editor shows the dataset. */
  visibleColumns: readonly number[];
  /** Columns of the groups that have a tab of the dataset (shown or not). */
  tabColumns: readonly number[];
  /** Column of the Label Review panel (undefined when unknown). */
  panelColumn: number | undefined;
}

/**
 * Where the panel's "Open line" (`o`, double-click, the button) shows the dataset: in the dataset's own group, never
 * in a fixed column One that may be another group (or the panel's own, covering it). In order: a group that shows
 * the dataset; a group with a tab of it (other than the panel's group); the group beside the panel (left first, as
 * the panel opens right of the dataset); a new group right of the panel when it is alone.
 */
export function chooseDatasetColumn(sources: DatasetColumnSources): number {
  const notPanel = (column: number) => column !== sources.panelColumn;
  const visible = sources.visibleColumns.filter(notPanel);
  if (visible.length > 0) return Math.min(...visible);
  const tabs = sources.tabColumns.filter(notPanel);
  if (tabs.length > 0) return Math.min(...tabs);
  const panel = sources.panelColumn;
  if (panel === undefined) return sources.groups.length > 0 ? Math.min(...sources.groups.map((group) => group.column)) : 1;
  const existing = new Set(sources.groups.map((group) => group.column));
  return [panel - 1, panel + 1].find((column) => column >= 1 && existing.has(column)) ?? panel + 1;
}
