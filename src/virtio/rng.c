/* rng.c: being written (issue 6). */
#include "virtio/virtio.h"
