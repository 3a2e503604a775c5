import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseReviewColumn, type ReviewColumnSources } from '../../src/commands/reviewColumn';

const groups = (...columns: number[]): ReviewColumnSources['groups'] => columns.map((column) => ({ column, empty: false }));

test('Label Review opens beside the dataset, never in a new third column (issue 10 §3.6)', () => {
  // The dataset in group 1, another file focused in group 2: group 2 is reused (the old ViewColumn.Beside made a 3rd).
  assert.equal(chooseReviewColumn({ groups: groups(1, 2), activeColumn: 2, datasetColumns: [1], panelColumn: undefined }), 2);
  // The dataset focused in the only group: a new group to its right.
  assert.equal(chooseReviewColumn({ groups: groups(1), activeColumn: 1, datasetColumns: [1], panelColumn: undefined }), 2);
  // The dataset in the right-hand group of two: the left one is beside it.
  assert.equal(chooseReviewColumn({ groups: groups(1, 2), activeColumn: 2, datasetColumns: [2], panelColumn: undefined }), 1);
  // The dataset in the middle of three, focused elsewhere: its right-hand neighbour.
  assert.equal(chooseReviewColumn({ groups: groups(1, 2, 3), activeColumn: 1, datasetColumns: [2], panelColumn: undefined }), 3);
  // Shown in two groups: the active one is the anchor, and a neighbour not showing the dataset is preferred.
  assert.equal(chooseReviewColumn({ groups: groups(1, 2, 3), activeColumn: 2, datasetColumns: [1, 2], panelColumn: undefined }), 3);
  assert.equal(chooseReviewColumn({ groups: groups(1, 2), activeColumn: 2, datasetColumns: [1, 2], panelColumn: undefined }), 1);
});

test('an open panel stays in its group; with the dataset not shown the active group decides', () => {
  assert.equal(chooseReviewColumn({ groups: groups(1, 2, 3), activeColumn: 1, datasetColumns: [1], panelColumn: 3 }), 3);
  // From the Explorer, nothing open: the (empty) active group.
  assert.equal(chooseReviewColumn({ groups: [{ column: 1, empty: true }], activeColumn: 1, datasetColumns: [], panelColumn: undefined }), 1);
  // Another file in the only group: beside it.
  assert.equal(chooseReviewColumn({ groups: groups(1), activeColumn: 1, datasetColumns: [], panelColumn: undefined }), 2);
  // Two groups, dataset not shown: the neighbour of the active group, no new group.
  assert.equal(chooseReviewColumn({ groups: groups(1, 2), activeColumn: 2, datasetColumns: [], panelColumn: undefined }), 1);
  assert.equal(chooseReviewColumn({ groups: [], activeColumn: undefined, datasetColumns: [], panelColumn: undefined }), 1);
});
