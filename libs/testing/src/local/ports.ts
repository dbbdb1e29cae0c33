export { freePort } from '@framewise/stack';
