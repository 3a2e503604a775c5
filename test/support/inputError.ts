import assert from 'node:assert/strict';
import { InputError } from '../../src/training/input';

/** The InputError that `action` throws; fails the test if it throws anything else or nothing. */
export function inputError(action: () => unknown): InputError {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof InputError, `expected an InputError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected an InputError');
}
