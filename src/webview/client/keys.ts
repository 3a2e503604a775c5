/** Key dispatch: the key map (keymap.ts) names the action, the handlers do it. */
import { actionForKey, type KeyAction } from './keymap';
import { keyContextOf } from './ui';

export type KeyHandlers = Record<KeyAction, (key: string) => void>;

/** Handles a key press; true when a binding took it (the caller then prevents the default). */
export function dispatchKey(event: KeyboardEvent, handlers: KeyHandlers): boolean {
  if (event.ctrlKey || event.metaKey || event.altKey) {
    return false;
  }
  const action = actionForKey(event.key, keyContextOf(event));
  if (action === undefined) {
    return false;
  }
  handlers[action](event.key);
  return true;
}
