/* options_parse.c - unit test of the mount option parser (options.h). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "options.h"
#include "tap.h"

int main(void)
{
	return tap_done();
}
