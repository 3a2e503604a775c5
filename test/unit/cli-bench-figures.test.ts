import { test } from 'node:test';
import assert from 'node:assert/strict';
import { confidenceCalibrationError, expectedCalibrationError } from '../../src/cli/bench';

test('confidenceCalibrationError: the ECE of the top probability against whether the arg-max is right', () => {
  // Three rows of two classes: tops 0.9 (right), 0.6 (wrong), 0.65 (right); bins [0.9, 1) and [0.6, 0.7).
  const probabilities = [0.9, 0.1, 0.4, 0.6, 0.65, 0.35];
  const truth = [0, 0, 0];
  // |0.9 − 1| / 3 + |(0.6 + 0.65) − 1| / 3
  assert.ok(Math.abs(confidenceCalibrationError(probabilities, truth, 2) - (0.1 + 0.25) / 3) < 1e-12);
  assert.equal(confidenceCalibrationError(probabilities, truth, 2), expectedCalibrationError([0.9, 0.6, 0.65], [true, false, true]));
  // A classifier that is right exactly as often as it says is calibrated.
  assert.equal(confidenceCalibrationError([1, 0, 0, 1], [0, 1], 2), 0);
  assert.ok(Number.isNaN(confidenceCalibrationError([], [], 2)));
});
