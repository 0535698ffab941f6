// The shared object labels (providers/README.md §7.1), metadata order (§7.4) and the change-request comment pieces.
import { describe, expect, it } from 'vitest';
import { changeRequestNumber, commentBody, commentKey, findOwnComment } from '../../../src/providers/git/comment.js';
import { dottedLabel, markdownId, slashedLabel, sortedMetadata, summaryLabel } from '../../../src/providers/labels.js';
import { canonicalEvent } from '../../helpers/providers.js';

describe('object labels (§7.1) on the canonical event', () => {
  it('renders each label form', () => {
    const e = canonicalEvent();
    expect(dottedLabel(e)).toBe('kustomization/webapp.apps');
    expect(slashedLabel(e)).toBe('kustomization/webapp/apps');
    expect(markdownId(e)).toBe('Kustomization/apps/webapp');
    expect(summaryLabel(e)).toBe('Kustomization: apps/webapp');
  });

  it('sorts metadata by key in byte order', () => {
    const e = canonicalEvent();
    e.metadata = { b: '2', B: '1', a: '3' };
    expect(sortedMetadata(e)).toEqual([['B', '1'], ['a', '3'], ['b', '2']]);
  });
});

describe('change-request comments (githubpullrequestcomment.md §5-§6)', () => {
  const n = { event: canonicalEvent(), provider: { namespace: 'apps', name: 'ops', type: 'githubpullrequestcomment', uid: '0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11' } };

  it('keys the comment by provider UID and object, and puts the marker before the status markdown', () => {
    n.event.metadata = { revision: 'main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567', change_request: '42' };
    expect(commentKey(n)).toBe('0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11/Kustomization/apps/webapp');
    expect(commentBody(n)).toBe('<!-- flux-pr-comment-key:0c9c2e41-d2f9-4f9f-9c8a-5d2b0f0e7c11/Kustomization/apps/webapp -->\n\n## Flux Status\n\n\u26a0\ufe0f Kustomization/apps/webapp\n\nHealth check failed after 2m\n\nMetadata:\n* `revision`: main@sha1:9f1c2e3d4b5a69788796a5b4c3d2e1f001234567\n');
  });

  it('reads the change-request number as strconv.Atoi does', () => {
    expect(changeRequestNumber({ metadata: { change_request: '+17' } })).toBe(17);
    expect(() => changeRequestNumber({ metadata: {} })).toThrow('missing "change_request" metadata key');
    expect(() => changeRequestNumber({ metadata: { change_request: '4 2' } })).toThrow('invalid "change_request" metadata value "4 2": strconv.Atoi: parsing "4 2": invalid syntax');
    expect(() => changeRequestNumber({ metadata: { change_request: '99999999999999999999' } })).toThrow('value out of range');
  });

  it("finds the oldest marked comment by Flux's own identity among decoys", () => {
    const marker = '<!-- flux-pr-comment-key:k -->';
    const comments = [
      { id: 1, author: 'someone-else', body: `${marker}\n\ncopied` },
      { id: 2, author: 'flux-bot', body: 'unmarked' },
      { id: 3, author: 'flux-bot', body: `${marker}\n\nours` },
      { id: 4, author: 'flux-bot', body: `${marker}\n\nlater` },
    ];
    expect(findOwnComment(comments, 'flux-bot', marker)?.id).toBe(3);
    expect(findOwnComment(comments, 'nobody', marker)).toBeUndefined();
  });
});
