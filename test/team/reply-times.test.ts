import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyTimes } from '../../src/team/reply-times.js';

const at = (ms: number): string => new Date(ms).toISOString();

describe('reply times from the journal (pure)', () => {
  it('a wait starts with the oldest unanswered task message and ends with the agent\'s next message', () => {
    const replies = new ReplyTimes();
    assert.equal(replies.replyMs('dev-1', 0), undefined, 'never sent a task');
    replies.note({ type: 'task', from: 'supervisor', to: 'role:dev', rcpt: 'dev-1', ts: at(1000) });
    replies.note({ type: 'task', from: 'supervisor', to: 'dev-1', ts: at(2000) });
    assert.equal(replies.replyMs('dev-1', 4000), 3000, 'waiting since the first, addressed by role');
    replies.note({ type: 'message', from: 'dev-1', to: 'orchestrator', ts: at(6000) });
    assert.equal(replies.replyMs('dev-1', 9000), 5000, 'the answer\'s reply time');
    replies.clearAnswered();
    assert.equal(replies.replyMs('dev-1', 9000), undefined, 'each answer counts once');
  });

  it('messages from agents that wait for nothing change nothing; forget drops a wait', () => {
    const replies = new ReplyTimes();
    replies.note({ type: 'result', from: 'qa-1', to: 'orchestrator', ts: at(1000) });
    assert.equal(replies.replyMs('qa-1', 2000), undefined);
    replies.note({ type: 'task', from: 'supervisor', to: 'qa-1', ts: 'not a time' }, 5000);
    assert.equal(replies.replyMs('qa-1', 5500), 500, 'a ts that does not parse counts as now');
    replies.forget('qa-1');
    assert.equal(replies.replyMs('qa-1', 6000), undefined);
  });
});
