// Entry point of the `framewise` command (bin/framewise.js loads it).
import { setOnnxRuntimeLogLevel } from '../providers';
import { runCli } from './detect-command';

// A missing GPU provider is reported by the detector in one line; onnxruntime's own native
// error line about it would only confuse a person at a terminal.
setOnnxRuntimeLogLevel('fatal');

runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `framewise: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
