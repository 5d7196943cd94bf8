/**
 * @file apps.h  The apps the router knows
 */
#ifndef APPS_H
#define APPS_H

extern const struct app app_audiotest;
extern const struct app app_meetme;

#endif
