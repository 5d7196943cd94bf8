/**
 * @file sblog.h  The log sink both processes use
 */
#ifndef SBLOG_H
#define SBLOG_H

void log_init(int level, const char *tag);

#endif
