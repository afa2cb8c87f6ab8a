/** Package name, used as the instrumentation scope. */
export const SDK_NAME = '@costspan/sdk';
/** Package version; a test keeps it equal to package.json. */
export const SDK_VERSION = '0.1.0';
