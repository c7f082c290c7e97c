"""Constants of the kernel the model follows (include/linux/memcontrol.h, mm/memcontrol.c)
and limits of the model's own encodings.  The kernels read them at compile time."""

from __future__ import annotations

PAGE_SIZE = 4096
MEMCG_CHARGE_BATCH = 64  # pages a charge asks for at once (include/linux/memcontrol.h)
NR_MEMCG_STOCK = 7  # memcg stock slots per CPU (mm/memcontrol.c)
NR_OBJ_STOCK = 5  # obj stock slots per CPU in the mm tree of mid-2026 (mm/memcontrol.c)
U16_MAX, S16_MAX = 65535, 32767  # the mm-2026 obj stock's field limits
COSTLY_PAGES = 8  # 1 << PAGE_ALLOC_COSTLY_ORDER
INT_MAX = 2**31 - 1
MAX_OBJECT_SIZE = 8192  # largest kmalloc-style slab object modelled (order-3 slab holds 4)
MAX_BULK = 65536  # p[] index must fit in the 16 low bits of the EXTS_FAIL draw index
