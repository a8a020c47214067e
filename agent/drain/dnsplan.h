/*
 * dnsplan.h - what one [dns] target changes in one RRset: pure code, no
 * I/O (tests/unit/test_drain_dnsplan.c).
 *
 * An RRset is the A (or AAAA) records of one name.  A drain deletes the
 * site's addresses from it and adds the standby's; the records deleted and
 * added are kept in a journal, so that an undrain restores exactly what was
 * there: it adds back what the drain deleted (with its TTL) and deletes only
 * what the drain added (a standby address that was already there stays).
 * A drain that would leave the RRset empty is refused unless allow_empty.
 */
#ifndef EMBER_DNSPLAN_H
#define EMBER_DNSPLAN_H

#include <stdbool.h>
#include <stdint.h>

#define DNSPLAN_MAX 32  /* records of one RRset */
#define DNSPLAN_ADDR 46 /* INET6_ADDRSTRLEN */

struct dns_rec {
    char addr[DNSPLAN_ADDR]; /* canonical text (inet_ntop) */
    uint32_t ttl;
};

struct dns_set {
    struct dns_rec r[DNSPLAN_MAX];
    int n;
};

/* What was deleted from and added to one RRset by drains not yet undone. */
struct dns_journal {
    struct dns_set removed;
    struct dns_set added;
};

struct dns_plan {
    struct dns_set del;
    struct dns_set add;
};

/* Canonical text of an IPv4 or IPv6 address into out (DNSPLAN_ADDR bytes);
 * returns 4, 6, or -1 when s is neither. */
int dnsplan_canon(const char *s, char *out);

bool dnsplan_has(const struct dns_set *s, const char *addr);
/* Adds (addr, ttl) unless present; returns -ENOSPC when full, else 0. */
int dnsplan_add(struct dns_set *s, const char *addr, uint32_t ttl);
/* Sorts s in numeric address order (IPv4 first), so an RRset read back
 * reads the same whatever order the server answers in. */
void dnsplan_sort(struct dns_set *s);

/* The drain of RRset `cur`, with journal j: delete every address of `site`
 * present, and when that deletes something (or j says an earlier drain
 * did) add every address of `standby` absent, with `ttl` (0: the RRset's
 * own TTL).  An RRset that never held the site's addresses is left alone.  Returns 0 with the plan (empty when
 * the drain is in effect), or -EDOM when the RRset would be left empty and
 * allow_empty is false (the plan is then empty). */
int dnsplan_drain(const struct dns_set *cur, const struct dns_journal *j,
                  const struct dns_set *site, const struct dns_set *standby, uint32_t ttl,
                  bool allow_empty, struct dns_plan *p);

/* The undrain of RRset `cur` from journal j: add back what was removed and
 * is absent, delete what was added and is present. */
void dnsplan_restore(const struct dns_set *cur, const struct dns_journal *j, struct dns_plan *p);

/* Records a plan that the server applied in the journal: a deleted record
 * the journal had added is simply forgotten, otherwise it is remembered as
 * removed; an added record the journal had removed is forgotten, otherwise
 * it is remembered as added.  Returns -ENOSPC when the journal is full. */
int dnsplan_commit(struct dns_journal *j, const struct dns_plan *p);

/* True when the plan changes nothing. */
bool dnsplan_empty(const struct dns_plan *p);

#endif
