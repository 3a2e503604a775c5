import * as vscode from 'vscode';
import { showErrorMessage } from '../editor/messages';
import { LabelReviewPanel } from '../webview/labelReviewPanel';

/**
 * "PeerKD: Re-rank Review Queue" (issue 10 §2): re-orders the open Label Review's queue with the human labels given
 * since the run (src/review/queueRerank.ts), without a new training run. The panel also does it after every
 * RERANK_EVERY new labels, and on its Re-rank button and key.
 */
export function registerRerankReviewQueueCommand(): vscode.Disposable {
  return vscode.commands.registerCommand('peerkd.rerankReviewQueue', () => {
    if (!LabelReviewPanel.current?.rerank()) {
      void showErrorMessage('PeerKD: open Label Review on a dataset with a completed run to re-rank its queue.');
    }
  });
}
