/**
 * @file cdr.c  How a call ended, in one word for the CDR
 */
#include <re.h>
#include "sipcore.h"


/**
 * Disposition of a call from its final status
 *
 * @param scode    Final SIP status of the caller's leg
 * @param answered True if the call was answered
 *
 * @return ANSWERED, BUSY, NOANSWER, CANCELLED, UNAVAILABLE or FAILED
 */
const char *cdr_disposition(uint16_t scode, bool answered)
{
	if (answered)
		return "ANSWERED";

	switch (scode) {

	case 486:
	case 600:
		return "BUSY";

	case 408:
	case 480:
		return "NOANSWER";

	case 487:
		return "CANCELLED";

	case 404:
	case 604:
		return "UNKNOWN";

	default:
		return "FAILED";
	}
}
