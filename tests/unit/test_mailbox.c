/* Unit tests: agent/lib/mailbox.c, the queue worker threads hand items to
 * the poll loop through: order, the wakeup fd (readable exactly while items
 * wait), several producer threads at once, and both full-queue policies. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mailbox.h"

struct item {
    int producer;
    int seq;
};

static void
assert_counts(struct mailbox *mb, size_t waiting, uint64_t dropped)
{
    size_t w;
    uint64_t d;

    mailbox_counts(mb, &w, &d);
    assert_int_equal(w, waiting);
    assert_int_equal(d, dropped);
}

static bool
readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void
test_order_and_wakeup(void **state)
{
    struct mailbox *mb;
    struct item in[5], out[8];
    (void)state;

    assert_int_equal(mailbox_init(&mb, sizeof(struct item), 16, MAILBOX_DROP_NEW, -1), 0);
    assert_false(readable(mailbox_fd(mb)));
    assert_int_equal(mailbox_take(mb, out, 8), 0);
    for (int i = 0; i < 5; i++)
        in[i] = (struct item){0, i};
    assert_int_equal(mailbox_post(mb, in, 3), 0);
    assert_int_equal(mailbox_post(mb, in + 3, 2), 0);
    assert_true(readable(mailbox_fd(mb)));
    assert_counts(mb, 5, 0);
    /* A partial take leaves the fd readable for the rest. */
    assert_int_equal(mailbox_take(mb, out, 2), 2);
    assert_int_equal(out[0].seq, 0);
    assert_int_equal(out[1].seq, 1);
    assert_true(readable(mailbox_fd(mb)));
    assert_int_equal(mailbox_take(mb, out, 8), 3);
    for (int i = 0; i < 3; i++)
        assert_int_equal(out[i].seq, i + 2);
    assert_false(readable(mailbox_fd(mb)));
    /* A bare wakeup: readable, nothing to take. */
    assert_int_equal(mailbox_wake(mb), 0);
    assert_true(readable(mailbox_fd(mb)));
    assert_int_equal(mailbox_take(mb, out, 8), 0);
    assert_false(readable(mailbox_fd(mb)));
    assert_counts(mb, 0, 0);
    mailbox_fini(mb);
    assert_int_equal(mailbox_init(&mb, 0, 16, MAILBOX_DROP_NEW, -1), -EINVAL);
    assert_int_equal(mailbox_init(&mb, 4, 0, MAILBOX_DROP_NEW, -1), -EINVAL);
}

/* The ring wraps around many times without losing order. */
static void
test_wraparound(void **state)
{
    struct mailbox *mb;
    int next_in = 0, next_out = 0;
    (void)state;

    assert_int_equal(mailbox_init(&mb, sizeof(int), 7, MAILBOX_DROP_NEW, -1), 0);
    for (int round = 0; round < 100; round++) {
        int buf[5];
        for (int k = 0; k < 5; k++) {
            assert_int_equal(mailbox_post(mb, &next_in, 1), 0);
            next_in++;
        }
        assert_int_equal(mailbox_take(mb, buf, 3), 3);
        assert_int_equal(mailbox_take(mb, buf + 3, 2), 2);
        for (int k = 0; k < 5; k++)
            assert_int_equal(buf[k], next_out++);
    }
    mailbox_fini(mb);
}

/* Six items into a mailbox of four, in posts of two and four: the policy
 * decides which four stay. */
static void
full_case(enum mailbox_full full, int first_kept)
{
    struct mailbox *mb;
    int in[6] = {1, 2, 3, 4, 5, 6}, out[6];

    assert_int_equal(mailbox_init(&mb, sizeof(int), 4, full, -1), 0);
    assert_int_equal(mailbox_post(mb, in, 2), 0);
    assert_int_equal(mailbox_post(mb, in + 2, 4), -ENOBUFS);
    assert_counts(mb, 4, 2);
    assert_int_equal(mailbox_take(mb, out, 6), 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], first_kept + i);
    mailbox_fini(mb);
}

static void
test_full(void **state)
{
    (void)state;
    full_case(MAILBOX_DROP_NEW, 1);
    full_case(MAILBOX_DROP_OLD, 3);
}

/* Several mailboxes waking one pipe the owner empties. */
static void
test_shared_wake_fd(void **state)
{
    struct mailbox *a, *b;
    int p[2], v = 7, out;
    char buf[64];
    (void)state;

    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    assert_int_equal(mailbox_init(&a, sizeof(int), 4, MAILBOX_DROP_OLD, p[1]), 0);
    assert_int_equal(mailbox_init(&b, sizeof(int), 4, MAILBOX_DROP_OLD, p[1]), 0);
    assert_int_equal(mailbox_fd(a), p[1]);
    assert_false(readable(p[0]));
    assert_int_equal(mailbox_post(b, &v, 1), 0);
    assert_true(readable(p[0]));
    while (read(p[0], buf, sizeof(buf)) > 0)
        ;
    assert_int_equal(mailbox_take(a, &out, 1), 0);
    assert_int_equal(mailbox_take(b, &out, 1), 1);
    assert_int_equal(out, 7);
    assert_int_equal(mailbox_wake(a), 0);
    assert_true(readable(p[0]));
    mailbox_fini(a);
    mailbox_fini(b);
    /* The pipe stays the caller's. */
    assert_int_equal(fcntl(p[1], F_GETFD) >= 0, 1);
    close(p[0]);
    close(p[1]);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

struct producer {
    struct mailbox *mb;
    int id;
};

static void *
produce(void *arg)
{
    struct producer *p = arg;

    for (int i = 0; i < PER_PRODUCER; i++) {
        struct item it = {p->id, i};
        if (mailbox_post(p->mb, &it, 1) != 0)
            abort();
    }
    return NULL;
}

/* Every item of every producer arrives once, each producer's in its order,
 * with the loop waiting on the fd only. */
static void
test_producers(void **state)
{
    struct mailbox *mb;
    struct producer pr[PRODUCERS];
    pthread_t th[PRODUCERS];
    int next[PRODUCERS] = {0};
    long total = 0;
    (void)state;

    /* Big enough that nothing is dropped while the consumer keeps up. */
    assert_int_equal(
        mailbox_init(&mb, sizeof(struct item), PRODUCERS * PER_PRODUCER, MAILBOX_DROP_NEW, -1), 0);
    for (int i = 0; i < PRODUCERS; i++) {
        pr[i] = (struct producer){mb, i};
        assert_int_equal(pthread_create(&th[i], NULL, produce, &pr[i]), 0);
    }
    while (total < (long)PRODUCERS * PER_PRODUCER) {
        struct pollfd p = {.fd = mailbox_fd(mb), .events = POLLIN};
        struct item out[256];
        size_t n;
        assert_int_equal(poll(&p, 1, 10000), 1);
        n = mailbox_take(mb, out, 256);
        for (size_t k = 0; k < n; k++) {
            assert_in_range(out[k].producer, 0, PRODUCERS - 1);
            assert_int_equal(out[k].seq, next[out[k].producer]);
            next[out[k].producer]++;
        }
        total += (long)n;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(next[i], PER_PRODUCER);
    }
    assert_counts(mb, 0, 0);
    mailbox_fini(mb);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_and_wakeup),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_shared_wake_fd),
        cmocka_unit_test(test_producers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
