import { parseClientList, workerConnections } from './client-list';

const LIST = [
  'id=3 addr=127.0.0.1:40000 laddr=127.0.0.1:6379 fd=8 name= age=10 idle=0 flags=N db=0 cmd=client|list',
  'id=7 addr=127.0.0.1:40002 laddr=127.0.0.1:6379 fd=9 name=worker:host-12-a1b2c3 age=9 idle=0 flags=N db=0 cmd=evalsha',
  'id=8 addr=127.0.0.1:40004 laddr=127.0.0.1:6379 fd=10 name=worker:host-12-a1b2c3 age=9 idle=1 flags=b db=0 cmd=blmove',
  'id=9 addr=127.0.0.1:40006 laddr=127.0.0.1:6379 fd=11 name=worker:host-13-ffffff age=2 idle=0 flags=N db=0 cmd=ping',
  '',
].join('\n');

it('parses id, name and last command of each connection', () => {
  expect(parseClientList(LIST)).toEqual([
    { id: '3', name: '', cmd: 'client|list' },
    { id: '7', name: 'worker:host-12-a1b2c3', cmd: 'evalsha' },
    { id: '8', name: 'worker:host-12-a1b2c3', cmd: 'blmove' },
    { id: '9', name: 'worker:host-13-ffffff', cmd: 'ping' },
  ]);
});

it('groups worker connections by consumer id and ignores the rest', () => {
  const groups = workerConnections(parseClientList(LIST));
  expect([...groups.keys()]).toEqual(['host-12-a1b2c3', 'host-13-ffffff']);
  expect(groups.get('host-12-a1b2c3')?.map((c) => c.id)).toEqual(['7', '8']);
});
