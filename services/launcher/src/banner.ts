/** What `npm start` prints once everything is ready. */
export interface BannerInput {
  readonly apiUrl: string;
  readonly apiKey: string;
  readonly dataDir: string;
  readonly model: string;
  readonly counts: Readonly<Record<'api' | 'extractor' | 'worker' | 'reaper', number>>;
}

/** A shell-safe single-quoted string. */
function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function banner(input: BannerInput): string {
  const { counts } = input;
  const processes = `${counts.api} api, ${counts.extractor} extractor, ${counts.worker} worker${counts.worker === 1 ? '' : 's'}, ${counts.reaper} reaper`;
  const auth = quote(`Authorization: Bearer ${input.apiKey}`);
  return `
framewise is running (${processes}).

  API       ${input.apiUrl}        (docs: ${input.apiUrl}/docs)
  API key   ${input.apiKey}
  model     ${input.model}
  data      ${input.dataDir}        (logs in logs/)

Upload a video:
  curl -sS -H ${auth} -F file=@video.mp4 ${input.apiUrl}/v1/videos

Or try the demo (in another terminal):  npm run demo

Ctrl-C stops everything; the next npm start keeps the videos and this key.
`;
}
