// `tsx bench/cpuprofile-summary.ts <dir-or-file>… [--top=N] [--focus=<substring>]`: sums V8 CPU
// profiles (the .cpuprofile files `node --cpu-prof` writes; bench:worker does with
// BENCH_CPU_PROF) into three tables, so "where does a worker's CPU go" is one command:
// - self time by function (name + file:line), the leaves where the CPU was spent;
// - self time by place: node internals, each dependency (node_modules/<package>), each of
//   our packages (libs/<name>, services/<name>), (garbage collector), (program), (idle);
// - inclusive time by function: time with that function anywhere on the stack (each sample
//   counted once per function), so a caller such as `insertResults` shows its whole cost.
// `--focus=<substring>` keeps only samples with a frame whose function or URL contains it.
// `--window=<name>` keeps only samples taken inside the steady-state window of that name that
// bench:worker wrote into the directory's windows.json (for example `sim-8` or `real-2`):
// the profiles also hold each process's start-up (module loading, tsx compiling), which would
// otherwise drown the few seconds of work. V8 stamps samples with the monotonic clock that
// process.hrtime reads, so the bench's timestamps and the samples compare directly.
// Times are percentages of the non-idle samples, and milliseconds.
import fs from 'node:fs';
import path from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
/** A steady-state window, in microseconds of the monotonic clock (bench:worker writes them). */
interface Window {
  name: string;
  fromUs: number;
  toUs: number;
}

const args = process.argv.slice(2);
const top = Number(args.find((a) => a.startsWith('--top='))?.slice(6) ?? 30);
const focus = args.find((a) => a.startsWith('--focus='))?.slice(8);
const windowName = args.find((a) => a.startsWith('--window='))?.slice(9);
const inputs = args.filter((a) => !a.startsWith('--'));
if (inputs.length === 0) {
  process.stderr.write(
    'usage: cpuprofile-summary <dir-or-file>… [--top=N] [--focus=text] [--window=name]\n',
  );
  process.exit(2);
}
const window = windowName === undefined ? undefined : findWindow(windowName);

function findWindow(name: string): Window {
  for (const input of inputs) {
    const file = path.join(
      fs.statSync(input).isDirectory() ? input : path.dirname(input),
      'windows.json',
    );
    if (!fs.existsSync(file)) continue;
    const found = (JSON.parse(fs.readFileSync(file, 'utf8')) as Window[]).find(
      (w) => w.name === name,
    );
    if (found) return found;
  }
  process.stderr.write(`no window named ${name} in a windows.json next to the profiles\n`);
  process.exit(2);
}
const files = inputs.flatMap((input) =>
  fs.statSync(input).isDirectory()
    ? fs
        .readdirSync(input)
        .filter((f) => f.endsWith('.cpuprofile'))
        .map((f) => path.join(input, f))
    : [input],
);

function label(frame: CallFrame): string {
  const where = frame.url === '' ? '' : ` ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
  return `${frame.functionName || '(anonymous)'}${where}`;
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const ours = /\/((?:libs|services|bench|tests)\/.*)$/.exec(url);
  return ours?.[1] ?? url.replace(/^file:\/\//, '');
}

function place(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url.slice(url.lastIndexOf('node_modules/')));
  if (nm?.[1] !== undefined) return nm[1];
  const ours = /\/((?:libs|services)\/[^/]+)\//.exec(url);
  return ours?.[1] ?? shortUrl(url);
}

const self = new Map<string, number>();
const places = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
let idle = 0;
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    at += us;
    if (window !== undefined && (at < window.fromUs || at > window.toUs)) return;
    const leaf = byId.get(id);
    if (leaf === undefined) return;
    if (leaf.callFrame.functionName === '(idle)') {
      idle += us;
      return;
    }
    const stack: CallFrame[] = [];
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const node = byId.get(n);
      if (node) stack.push(node.callFrame);
    }
    if (
      focus !== undefined &&
      !stack.some((f) => f.functionName.includes(focus) || f.url.includes(focus))
    ) {
      return;
    }
    total += us;
    add(self, label(leaf.callFrame), us);
    add(places, place(leaf.callFrame), us);
    for (const key of new Set(stack.map(label))) add(inclusive, key, us);
  });
}

function table(title: string, m: Map<string, number>): void {
  const rows = [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`\n${title}\n`);
  for (const [key, us] of rows) {
    const pct = ((100 * us) / total).toFixed(1).padStart(5);
    const ms = (us / 1000).toFixed(0).padStart(7);
    process.stdout.write(`${pct} % ${ms} ms  ${key}\n`);
  }
}

const scope = [
  focus === undefined ? '' : ` with "${focus}" on the stack`,
  window === undefined
    ? ''
    : ` in window ${window.name} (${((window.toUs - window.fromUs) / 1e6).toFixed(2)} s)`,
].join('');
process.stdout.write(
  `${files.length} profile(s); ${(total / 1000).toFixed(0)} ms sampled${scope}, ` +
    `${(idle / 1000).toFixed(0)} ms idle\n`,
);
table('self time by place', places);
table('self time by function', self);
table('inclusive time by function', inclusive);
