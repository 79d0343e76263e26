/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The release of flowgate, the one place it is written (daemon and CLI). */
#ifndef FG_VERSION_H
#define FG_VERSION_H

#define FG_VERSION "0.1.0"

#endif /* FG_VERSION_H */
