// Types of vsix.mjs for the TypeScript tests and harness that import it.
export declare const VSCE_PACKAGE_ARGS: readonly string[];
export declare const vsceScript: string;
export declare function packageVsix(extensionDir: string, outFile: string, options?: { echo?: boolean }): Promise<string>;
