/**
 * Context keys the extension sets (`setContext`) and package.json's `when` clauses read. Plain constants (no `vscode`
 * import), so the manifest test can check that the manifest names the same keys.
 */

/** True while at least one distillation runs: "Cancel Distillation" is in the palette only then. */
export const DISTILLATION_RUNNING_KEY = 'peerkd.distillationRunning';

/** The command VS Code opens the Workspace Trust editor with. */
export const MANAGE_WORKSPACE_TRUST_COMMAND = 'workbench.trust.manage';
export const MANAGE_WORKSPACE_TRUST = 'Manage Workspace Trust';

/** What each command that needs trust says in Restricted Mode (instead of vanishing from the palette). */
export const UNTRUSTED_REASON = {
  runDistillation: 'Restricted Mode: training runs code in a child process, so it needs a trusted workspace.',
  labelWithTeacher: 'Restricted Mode: teacher labelling sends the dataset to a server, so it needs a trusted workspace.',
} as const;
