// The log lines of one event-loop turn reach the destination as one buffer, in order, and nothing
// pending is lost by a synchronous flush at exit.

import t from 'tap';
import { LineBatch, type LineSink } from '../../src/commands/log-batch.js';

function recordingSink() {
  const handed: Buffer[] = [];
  const calls: string[] = [];
  const sink: LineSink = {
    write: (data) => {
      handed.push(data);
      calls.push('write');
      return true;
    },
    flush: () => void calls.push('flush'),
    flushSync: () => void calls.push('flushSync'),
  };
  return { sink, handed, calls };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

t.test('the lines of one turn are handed on as one buffer, on the next turn', async (t) => {
  const { sink, handed } = recordingSink();
  const batch = new LineBatch(sink, () => t.fail('nothing is written synchronously'));
  batch.write('{"a":1}\n');
  batch.write('{"b":"é"}\n');
  t.equal(handed.length, 0, 'held within the turn');
  await turn();
  t.equal(handed.length, 1, 'one hand-over for the turn');
  t.ok(Buffer.isBuffer(handed[0]), 'a buffer (sonic-boom runs in buffer mode)');
  t.equal(handed[0]?.toString('utf8'), '{"a":1}\n{"b":"é"}\n', 'both lines, in order, UTF-8 encoded');
  batch.write('{"c":3}\n');
  await turn();
  t.equal(handed.length, 2, 'the next turn is a new hand-over');
  t.equal(handed[1]?.toString('utf8'), '{"c":3}\n');
  await turn();
  t.equal(handed.length, 2, 'no empty hand-over when the turn had no lines');
});

t.test('flush hands the pending lines on, then asks the destination to write', async (t) => {
  const { sink, handed, calls } = recordingSink();
  const batch = new LineBatch(sink, () => t.fail('nothing is written synchronously'));
  batch.write('x\n');
  batch.flush();
  t.same(calls, ['write', 'flush']);
  t.equal(handed[0]?.toString(), 'x\n');
  await turn();
  t.same(calls, ['write', 'flush'], 'the scheduled hand-over finds nothing left');
});

t.test('flushSync writes what the destination holds, then the pending lines, directly', async (t) => {
  const { sink, handed, calls } = recordingSink();
  const written: string[] = [];
  const batch = new LineBatch(sink, (data) => {
    calls.push('writeNow');
    written.push(data);
  });
  batch.write('one\n');
  batch.write('two\n');
  batch.flushSync();
  t.same(calls, ['flushSync', 'writeNow'], 'the destination first, so the order holds');
  t.same(written, ['one\ntwo\n']);
  t.equal(handed.length, 0, 'not handed to the asynchronous destination, which an exit could cut');
  batch.flushSync();
  t.same(written, ['one\ntwo\n'], 'nothing written twice');
});
