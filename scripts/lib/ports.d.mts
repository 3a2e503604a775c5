// Types of ports.mjs for the TypeScript tests that import it.
export declare const DEFAULT_PORT: number;
export declare const PORT_SEARCH_SPAN: number;
export declare const HOST: string;
export declare function parsePort(text: string | undefined): number;
export declare function portIsFree(port: number, host?: string): Promise<boolean>;
export declare function choosePort(options?: { preferred?: number; strict?: boolean; host?: string; onSkip?: (port: number) => void }): Promise<number>;
