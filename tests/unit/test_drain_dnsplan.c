/* Unit tests: dnsplan, the RRset edits of the [dns] target: what a drain
 * deletes and adds, the refusal to empty an RRset, and an undrain that
 * restores exactly what was there through the journal. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnsplan.h"

/* A set from "addr/ttl addr/ttl ..." (ttl 0 when omitted). */
static struct dns_set
set_of(const char *list)
{
    struct dns_set s = {0};
    char buf[512], *save = NULL;

    snprintf(buf, sizeof(buf), "%s", list);
    for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *slash = strchr(t, '/');
        unsigned ttl = 0;
        if (slash != NULL) {
            *slash = '\0';
            ttl = (unsigned)atoi(slash + 1);
        }
        assert_int_equal(dnsplan_add(&s, t, ttl), 0);
    }
    return s;
}

/* Applies a plan to a set, as the server would. */
static void
apply(struct dns_set *cur, const struct dns_plan *p)
{
    struct dns_set out = {0};

    for (int i = 0; i < cur->n; i++)
        if (!dnsplan_has(&p->del, cur->r[i].addr))
            dnsplan_add(&out, cur->r[i].addr, cur->r[i].ttl);
    for (int i = 0; i < p->add.n; i++)
        dnsplan_add(&out, p->add.r[i].addr, p->add.r[i].ttl);
    *cur = out;
}

static bool
same(const struct dns_set *a, const struct dns_set *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        bool found = false;
        for (int k = 0; k < b->n; k++)
            if (strcmp(a->r[i].addr, b->r[k].addr) == 0 && a->r[i].ttl == b->r[k].ttl)
                found = true;
        if (!found)
            return false;
    }
    return true;
}

static void
test_canon(void **state)
{
    char out[DNSPLAN_ADDR];
    (void)state;

    assert_int_equal(dnsplan_canon("192.0.2.1", out), 4);
    assert_string_equal(out, "192.0.2.1");
    assert_int_equal(dnsplan_canon("2001:DB8:0:0::10", out), 6);
    assert_string_equal(out, "2001:db8::10");
    assert_int_equal(dnsplan_canon("192.0.2", out), -1);
    assert_int_equal(dnsplan_canon("www.example.com", out), -1);
    assert_int_equal(dnsplan_canon("", out), -1);
}

/* The site's address goes, the standby's comes, with the RRset's TTL. */
static void
test_drain_replaces(void **state)
{
    struct dns_set cur = set_of("192.0.2.10/30 198.51.100.10/30");
    struct dns_set site = set_of("192.0.2.10"), standby = set_of("203.0.113.10");
    struct dns_journal j = {0};
    struct dns_plan p;
    (void)state;

    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), 0);
    assert_int_equal(p.del.n, 1);
    assert_string_equal(p.del.r[0].addr, "192.0.2.10");
    assert_int_equal(p.del.r[0].ttl, 30);
    assert_int_equal(p.add.n, 1);
    assert_string_equal(p.add.r[0].addr, "203.0.113.10");
    assert_int_equal(p.add.r[0].ttl, 30);
    /* A configured ttl wins. */
    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 5, false, &p), 0);
    assert_int_equal(p.add.r[0].ttl, 5);
}

/* Once in effect, a drain plans nothing (idempotent re-runs). */
static void
test_drain_in_effect(void **state)
{
    struct dns_set cur = set_of("192.0.2.10/30 198.51.100.10/30");
    struct dns_set site = set_of("192.0.2.10"), standby = set_of("203.0.113.10");
    struct dns_journal j = {0};
    struct dns_plan p;
    (void)state;

    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), 0);
    apply(&cur, &p);
    assert_int_equal(dnsplan_commit(&j, &p), 0);
    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), 0);
    assert_true(dnsplan_empty(&p));
    /* Someone removed the standby by hand: the journal still says the
     * drain replaced, so it is added again. */
    cur = set_of("198.51.100.10/30");
    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), 0);
    assert_int_equal(p.add.n, 1);
    assert_int_equal(p.del.n, 0);
}

/* An RRset that never held the site's addresses is left alone. */
static void
test_drain_other_rrset_untouched(void **state)
{
    struct dns_set cur = set_of("198.51.100.10/30"), empty = {0};
    struct dns_set site = set_of("192.0.2.10"), standby = set_of("203.0.113.10");
    struct dns_journal j = {0};
    struct dns_plan p;
    (void)state;

    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), 0);
    assert_true(dnsplan_empty(&p));
    assert_int_equal(dnsplan_drain(&empty, &j, &site, &standby, 0, false, &p), 0);
    assert_true(dnsplan_empty(&p));
}

/* Removing the last address is refused unless allow_empty. */
static void
test_drain_would_empty(void **state)
{
    struct dns_set cur = set_of("192.0.2.10/30 192.0.2.11/30");
    struct dns_set site = set_of("192.0.2.10 192.0.2.11"), standby = {0};
    struct dns_journal j = {0};
    struct dns_plan p;
    (void)state;

    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), -EDOM);
    assert_true(dnsplan_empty(&p));
    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, true, &p), 0);
    assert_int_equal(p.del.n, 2);
    /* With a standby it is a replacement, never empty. */
    standby = set_of("203.0.113.10");
    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 0, false, &p), 0);
    assert_int_equal(p.del.n, 2);
    assert_int_equal(p.add.n, 1);
}

/* Undrain restores exactly what was there: deleted records come back with
 * their own TTLs, a standby address that was there before stays, and one
 * the drain added goes. */
static void
test_restore_exact(void **state)
{
    struct dns_set before = set_of("192.0.2.10/300 192.0.2.20/300 203.0.113.10/300");
    struct dns_set cur = before;
    struct dns_set site = set_of("192.0.2.10 192.0.2.20"),
                   standby = set_of("203.0.113.10 203.0.113.11");
    struct dns_journal j = {0};
    struct dns_plan p;
    (void)state;

    assert_int_equal(dnsplan_drain(&cur, &j, &site, &standby, 60, false, &p), 0);
    apply(&cur, &p);
    assert_int_equal(dnsplan_commit(&j, &p), 0);
    assert_int_equal(j.removed.n, 2);
    assert_int_equal(j.added.n, 1);
    assert_string_equal(j.added.r[0].addr, "203.0.113.11");

    dnsplan_restore(&cur, &j, &p);
    assert_int_equal(p.add.n, 2);
    assert_int_equal(p.del.n, 1);
    assert_string_equal(p.del.r[0].addr, "203.0.113.11");
    apply(&cur, &p);
    assert_int_equal(dnsplan_commit(&j, &p), 0);
    assert_true(same(&cur, &before));
    /* The journal is empty again: nothing left to undo. */
    assert_int_equal(j.removed.n, 0);
    assert_int_equal(j.added.n, 0);
    dnsplan_restore(&cur, &j, &p);
    assert_true(dnsplan_empty(&p));
}

/* Restoring when someone already put a record back plans only the rest. */
static void
test_restore_partial(void **state)
{
    struct dns_journal j = {0};
    struct dns_set cur = set_of("192.0.2.10/30 198.51.100.10/30");
    struct dns_plan p;
    (void)state;

    assert_int_equal(dnsplan_add(&j.removed, "192.0.2.10", 30), 0);
    assert_int_equal(dnsplan_add(&j.removed, "192.0.2.20", 30), 0);
    dnsplan_restore(&cur, &j, &p);
    assert_int_equal(p.add.n, 1);
    assert_string_equal(p.add.r[0].addr, "192.0.2.20");
    assert_int_equal(p.del.n, 0);
}

static void
test_set_full(void **state)
{
    struct dns_set s = {0};
    char a[32];
    (void)state;

    for (int i = 0; i < DNSPLAN_MAX; i++) {
        snprintf(a, sizeof(a), "10.0.0.%d", i);
        assert_int_equal(dnsplan_add(&s, a, 1), 0);
    }
    assert_int_equal(dnsplan_add(&s, "10.0.1.1", 1), -ENOSPC);
    assert_int_equal(dnsplan_add(&s, "10.0.0.1", 1), 0); /* present: no-op */
    assert_int_equal(s.n, DNSPLAN_MAX);
}

/* A read-back RRset is sorted numerically, IPv4 before IPv6, so the order
 * the server answers in (BIND rotates it) never shows as a change. */
static void
test_sort(void **state)
{
    struct dns_set a = set_of("203.0.113.11/60 2001:db8::10/60 192.0.2.10/60 198.51.100.9/60 "
                              "2001:db8::9/60 192.0.2.9/60");
    struct dns_set b = set_of("192.0.2.9/60 2001:db8::9/60 198.51.100.9/60 192.0.2.10/60 "
                              "2001:db8::10/60 203.0.113.11/60");
    const char *want[] = {"192.0.2.9",      "192.0.2.10",  "198.51.100.9",
                          "203.0.113.11",   "2001:db8::9", "2001:db8::10"};

    (void)state;
    dnsplan_sort(&a);
    dnsplan_sort(&b);
    assert_int_equal(a.n, 6);
    for (int i = 0; i < a.n; i++) {
        assert_string_equal(a.r[i].addr, want[i]);
        assert_string_equal(b.r[i].addr, want[i]);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canon),
        cmocka_unit_test(test_drain_replaces),
        cmocka_unit_test(test_drain_in_effect),
        cmocka_unit_test(test_drain_other_rrset_untouched),
        cmocka_unit_test(test_drain_would_empty),
        cmocka_unit_test(test_restore_exact),
        cmocka_unit_test(test_restore_partial),
        cmocka_unit_test(test_set_full),
        cmocka_unit_test(test_sort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
