/*
 * scenario_priv.h - what the files of the scenario module share with each
 * other and with nobody else.
 *
 * The scenario module is scenario.h's API in four files: scenario_load.c
 * (reading a scenario file and resolving its profiles), scenario_model.c
 * (signal values and device faults at a time t), scenario_gpio.c ([gpio]
 * timelines) and scenario_command.c (the control language).  The loader
 * fills a struct scenario in, sorted as scenario.h says, and lets the signal
 * model precompute; the command language reuses the loader's word splitter
 * and the GPIO level grammar.  ember-sim's other files include scenario.h
 * only.
 */
#ifndef EMBER_SCENARIO_PRIV_H
#define EMBER_SCENARIO_PRIV_H

#include <stddef.h>

#include "scenario.h"

/* Splits value into blank-separated words (copied into buf; \r and \n count
 * as blanks).  Returns how many, max + 1 when there are more than `max`
 * (words[] then holds the first max), or -1 when value does not fit in buf. */
int scenario_split_words(const char *value, char *buf, size_t len, char **words, int max);

/* A GPIO level: exactly "0" or "1".  Returns 0 or -EINVAL. */
int scenario_parse_level(const char *s, int *out);

/* Works out the value each of a signal's events starts from (its `base`).
 * The events must already be sorted; called once, after loading. */
void scenario_signal_prepare(struct scn_signal *s);

#endif
