import * as vscode from 'vscode';
import { DEFAULT_FIELDS, type FieldMapping } from '../dataset/types';

/**
 * A typed mirror of the `peerkd.*` settings declared in package.json `contributes.configuration`.
 * Read it fresh each time (settings can change at any moment); never cache it in module state.
 */
export interface PeerKdSettings {
  fields: FieldMapping;
  /** Configured label set; empty means "infer from the dataset". */
  labels: string[];
}

export function readSettings(scope?: vscode.ConfigurationScope): PeerKdSettings {
  const config = vscode.workspace.getConfiguration('peerkd', scope);
  return {
    fields: {
      text: config.get<string>('fields.text') || DEFAULT_FIELDS.text,
      teacher: config.get<string>('fields.teacher') || DEFAULT_FIELDS.teacher,
      human: config.get<string>('fields.human') || DEFAULT_FIELDS.human,
      id: config.get<string>('fields.id') || DEFAULT_FIELDS.id,
      teacherConfidence: config.get<string>('fields.teacherConfidence') || DEFAULT_FIELDS.teacherConfidence,
    },
    labels: (config.get<string[]>('labels') ?? []).filter((label) => typeof label === 'string' && label.length > 0),
  };
}
