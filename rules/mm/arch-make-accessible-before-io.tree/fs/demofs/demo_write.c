// SPDX-License-Identifier: GPL-2.0
/* A file system's writepage, written for this fixture. */
#include <linux/pagemap.h>

static int demo_writepage(struct folio *folio, struct demo_io *io)
{
	folio_start_writeback(folio);
	folio_unlock(folio);
	return demo_submit(io, folio);
}
