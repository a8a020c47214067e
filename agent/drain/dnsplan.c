/*
 * dnsplan.c - RRset edit planning for the [dns] target.
 */
#include "dnsplan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
dnsplan_canon(const char *s, char *out)
{
    unsigned char buf[16];

    if (inet_pton(AF_INET, s, buf) == 1)
        return inet_ntop(AF_INET, buf, out, DNSPLAN_ADDR) ? 4 : -1;
    if (inet_pton(AF_INET6, s, buf) == 1)
        return inet_ntop(AF_INET6, buf, out, DNSPLAN_ADDR) ? 6 : -1;
    return -1;
}

static int
find(const struct dns_set *s, const char *addr)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->r[i].addr, addr) == 0)
            return i;
    return -1;
}

bool
dnsplan_has(const struct dns_set *s, const char *addr)
{
    return find(s, addr) >= 0;
}

int
dnsplan_add(struct dns_set *s, const char *addr, uint32_t ttl)
{
    if (find(s, addr) >= 0)
        return 0;
    if (s->n == DNSPLAN_MAX)
        return -ENOSPC;
    snprintf(s->r[s->n].addr, sizeof(s->r[0].addr), "%s", addr);
    s->r[s->n++].ttl = ttl;
    return 0;
}

/* Numeric address order: IPv4 before IPv6, then byte by byte. */
static int
cmp_rec(const void *a, const void *b)
{
    const char *x = ((const struct dns_rec *)a)->addr, *y = ((const struct dns_rec *)b)->addr;
    unsigned char bx[17] = {0}, by[17] = {0};

    bx[0] = inet_pton(AF_INET, x, bx + 1) == 1 ? 4 : inet_pton(AF_INET6, x, bx + 1) == 1 ? 6 : 9;
    by[0] = inet_pton(AF_INET, y, by + 1) == 1 ? 4 : inet_pton(AF_INET6, y, by + 1) == 1 ? 6 : 9;
    if (bx[0] == 9 || by[0] == 9 || bx[0] != by[0])
        return bx[0] != by[0] ? bx[0] - by[0] : strcmp(x, y);
    return memcmp(bx, by, sizeof(bx));
}

void
dnsplan_sort(struct dns_set *s)
{
    qsort(s->r, (size_t)s->n, sizeof(s->r[0]), cmp_rec);
}

static void
drop(struct dns_set *s, const char *addr)
{
    int i = find(s, addr);

    if (i >= 0)
        s->r[i] = s->r[--s->n];
}

int
dnsplan_drain(const struct dns_set *cur, const struct dns_journal *j, const struct dns_set *site,
              const struct dns_set *standby, uint32_t ttl, bool allow_empty, struct dns_plan *p)
{
    int left = cur->n;

    memset(p, 0, sizeof(*p));
    if (ttl == 0)
        ttl = cur->n > 0 ? cur->r[0].ttl : j->removed.n > 0 ? j->removed.r[0].ttl : 60;
    for (int i = 0; i < cur->n; i++)
        if (dnsplan_has(site, cur->r[i].addr)) {
            dnsplan_add(&p->del, cur->r[i].addr, cur->r[i].ttl);
            left--;
        }
    for (int i = 0; (p->del.n > 0 || j->removed.n > 0) && i < standby->n; i++)
        if (!dnsplan_has(cur, standby->r[i].addr) && dnsplan_add(&p->add, standby->r[i].addr, ttl) == 0)
            left++;
    if (left == 0 && p->del.n > 0 && !allow_empty) {
        memset(p, 0, sizeof(*p));
        return -EDOM;
    }
    return 0;
}

void
dnsplan_restore(const struct dns_set *cur, const struct dns_journal *j, struct dns_plan *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < j->removed.n; i++)
        if (!dnsplan_has(cur, j->removed.r[i].addr))
            dnsplan_add(&p->add, j->removed.r[i].addr, j->removed.r[i].ttl);
    for (int i = 0; i < j->added.n; i++) {
        int k = find(cur, j->added.r[i].addr);
        if (k >= 0)
            dnsplan_add(&p->del, cur->r[k].addr, cur->r[k].ttl);
    }
}

int
dnsplan_commit(struct dns_journal *j, const struct dns_plan *p)
{
    int rc = 0;

    for (int i = 0; i < p->del.n; i++) {
        if (dnsplan_has(&j->added, p->del.r[i].addr))
            drop(&j->added, p->del.r[i].addr);
        else if (dnsplan_add(&j->removed, p->del.r[i].addr, p->del.r[i].ttl) < 0)
            rc = -ENOSPC;
    }
    for (int i = 0; i < p->add.n; i++) {
        if (dnsplan_has(&j->removed, p->add.r[i].addr))
            drop(&j->removed, p->add.r[i].addr);
        else if (dnsplan_add(&j->added, p->add.r[i].addr, p->add.r[i].ttl) < 0)
            rc = -ENOSPC;
    }
    return rc;
}

bool
dnsplan_empty(const struct dns_plan *p)
{
    return p->del.n == 0 && p->add.n == 0;
}
