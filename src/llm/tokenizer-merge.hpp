// tokenizer-merge: the merge loop both tokenizer families share. Symbols form a linked list over the text;
// the queue holds candidate pairs best-first; a pair whose symbols changed since it was queued is dropped.
#pragma once

#include <cstdint>
#include <vector>

namespace versus::llm::detail {

// Sym has n (0 once merged away), prev, next; a queued pair has left and right. `stale(pair, l, r)` says
// whether the pair no longer holds, `join(pair, l)` updates the left symbol's own fields before it takes the
// right one's bytes, and `offer(a, b)` queues the pair of symbols a and b when it can merge (a or b may be -1).
template <class Sym, class Queue, class Stale, class Join, class Offer>
void merge_pairs(std::vector<Sym>& sym, Queue& queue, Stale stale, Join join, Offer offer) {
    while (!queue.empty()) {
        const auto pair = queue.top();
        queue.pop();
        Sym& l = sym[pair.left];
        Sym& r = sym[pair.right];
        if (l.n == 0 || r.n == 0 || stale(pair, l, r)) continue;
        join(pair, l);
        l.n += r.n;
        r.n = 0;
        l.next = r.next;
        if (r.next >= 0) sym[r.next].prev = pair.left;
        offer(l.prev, pair.left);
        offer(pair.left, l.next);
    }
}

}  // namespace versus::llm::detail
