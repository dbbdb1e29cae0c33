// How the extractor stores frames, for the benchmarks that make their frames the same way: the
// one place bench/ reaches into the ingestion service for it.
/* eslint-disable import-x/no-relative-packages -- the extractor's own filter graph and JPEG
   encoder, so benchmark frames are the frames a worker really reads. */
export {
  DEFAULT_FRAME_MAX_SIZE,
  DEFAULT_JPEG_QUALITY,
  frameOutputArgs,
} from '../services/ingestion/src/media/frame-format';
/* eslint-enable import-x/no-relative-packages */
