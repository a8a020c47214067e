/*
 * version.h - the one version every program prints for -V/--version, as
 * "PROGRAM VERSION" on stdout with exit status 0 (emberd, ember-drain,
 * ember-sim, emberctl).  The build may override it with -DEMBER_VERSION.
 */
#ifndef EMBER_VERSION_H
#define EMBER_VERSION_H

#ifndef EMBER_VERSION
#define EMBER_VERSION "0.1.0"
#endif

#endif
