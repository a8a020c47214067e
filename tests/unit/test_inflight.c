/* Unit tests: inflight.c, the journal's publish window - at most cap
 * messages awaiting PUBACK, each PUBACK mapped to exactly its seq, and a
 * replay of more than 65,535 messages through message ids that wrap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "inflight.h"

/* The session's message ids: 1..65535, then 1 again. */
static int
next_mid(int *last)
{
    *last = *last >= INFLIGHT_MIDS - 1 ? 1 : *last + 1;
    return *last;
}

static void
test_bounds(void **state)
{
    (void)state;
    assert_null(inflight_new(0));
    assert_null(inflight_new(INFLIGHT_MIDS));
    assert_true(INFLIGHT_WINDOW > 20 && INFLIGHT_WINDOW < INFLIGHT_MIDS / 2);
}

static void
test_window_and_exact_mapping(void **state)
{
    struct inflight *w = inflight_new(4);
    (void)state;
    assert_int_equal(inflight_room(w), 4);
    assert_int_equal(inflight_cursor(w), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(inflight_sent(w, 10 + i, 100 + (uint64_t)i), 0);
    assert_int_equal(inflight_room(w), 0);
    assert_int_equal(inflight_cursor(w), 103);
    assert_false(inflight_wants_refill(w));
    /* PUBACKs in any order free exactly their own seq, once. */
    assert_int_equal(inflight_acked(w, 12), 102);
    assert_int_equal(inflight_acked(w, 12), 0);
    assert_int_equal(inflight_acked(w, 99), 0); /* a retained state's PUBACK */
    assert_int_equal(inflight_acked(w, 0), 0);
    assert_int_equal(inflight_acked(w, -1), 0);
    assert_int_equal(inflight_acked(w, INFLIGHT_MIDS), 0);
    assert_int_equal(inflight_room(w), 1);
    assert_false(inflight_wants_refill(w));
    assert_int_equal(inflight_acked(w, 10), 100);
    assert_true(inflight_wants_refill(w)); /* half the window free */
    assert_int_equal(inflight_count(w), 2);
    /* A new connection: the old ids mean nothing any more. */
    inflight_reset(w);
    assert_int_equal(inflight_count(w), 0);
    assert_int_equal(inflight_cursor(w), 0);
    assert_int_equal(inflight_acked(w, 11), 0);
    inflight_free(w);
}

/* An id that comes back while its message still waits: the old seq is
 * reported (it stays journaled), the PUBACK then frees only the new one. */
static void
test_reused_id_evicts(void **state)
{
    struct inflight *w = inflight_new(8);
    (void)state;
    assert_int_equal(inflight_sent(w, 7, 1), 0);
    assert_int_equal(inflight_sent(w, 7, 2), 1);
    assert_int_equal(inflight_count(w), 1);
    assert_int_equal(inflight_acked(w, 7), 2);
    assert_int_equal(inflight_count(w), 0);
    inflight_free(w);
}

/* 70,000 journaled messages replayed through the window while the ids wrap
 * past 65,535, PUBACKs arriving in order with a lag of a full window: every
 * seq is freed exactly once, by its own PUBACK, and never more than the
 * window is in flight. */
static void
test_replay_past_the_id_space(void **state)
{
    enum { N = 70000, CAP = INFLIGHT_WINDOW };
    struct inflight *w = inflight_new(CAP);
    int *mid_of = calloc(N + 1, sizeof(int));
    unsigned char *freed = calloc(N + 1, 1);
    int last = 0, evictions = 0;
    uint64_t next = 1, acked = 1;
    (void)state;

    while (acked <= N) {
        /* Refill as the outbox does: from the row after the cursor. */
        while (inflight_room(w) > 0 && next <= N) {
            assert_int_equal(inflight_cursor(w), next - 1);
            mid_of[next] = next_mid(&last);
            evictions += inflight_sent(w, mid_of[next], next) != 0;
            next++;
        }
        assert_true(inflight_count(w) <= CAP);
        /* The broker acknowledges the oldest message. */
        {
            uint64_t seq = inflight_acked(w, mid_of[acked]);
            assert_int_equal(seq, acked);
            assert_false(freed[seq]);
            freed[seq] = 1;
            acked++;
        }
    }
    assert_int_equal(evictions, 0);
    assert_true(last < N); /* the ids did wrap */
    for (int i = 1; i <= N; i++)
        assert_true(freed[i]);
    assert_int_equal(inflight_count(w), 0);
    free(mid_of);
    free(freed);
    inflight_free(w);
}

/* The table against a plain id -> seq array: 200,000 random sends and
 * acknowledgements, ids clustered so probe runs collide and deletions have
 * to shift members back. */
static void
test_matches_reference(void **state)
{
    static uint64_t ref[INFLIGHT_MIDS];
    struct inflight *w = inflight_new(INFLIGHT_WINDOW);
    uint64_t seq = 0, rnd = 12345;
    int live = 0;
    (void)state;

    for (int k = 0; k < 200000; k++) {
        int mid;
        rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
        mid = 1 + (int)((rnd >> 33) % 3000);
        if ((rnd >> 20) % 2 == 0 && (live < INFLIGHT_WINDOW || ref[mid] != 0)) {
            uint64_t ev = inflight_sent(w, mid, ++seq);
            assert_int_equal(ev, ref[mid]);
            if (ref[mid] == 0)
                live++;
            ref[mid] = seq;
        } else {
            assert_int_equal(inflight_acked(w, mid), ref[mid]);
            if (ref[mid] != 0)
                live--;
            ref[mid] = 0;
        }
        assert_int_equal(inflight_count(w), live);
    }
    inflight_free(w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_window_and_exact_mapping),
        cmocka_unit_test(test_reused_id_evicts),
        cmocka_unit_test(test_replay_past_the_id_space),
        cmocka_unit_test(test_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
