// Types of testDigest.mjs for the TypeScript tests that import it.
export interface FailedTest {
  name: string;
  error: string[];
}
export declare function failedTests(output: string): FailedTest[];
export declare function digestLines(
  stages: { name: string; failures: FailedTest[] }[],
  options?: { maxFailures?: number; errorLines?: number; maxLineLength?: number },
): string[];
export declare function secondTryLine(names: string[]): string;
export declare function findSecondTryLine(output: string): { line: string; count: number } | undefined;
