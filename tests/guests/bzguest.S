/*
 * bzguest.S: the setup header of the bzImage test kernel (Linux
 * Documentation/x86/boot.rst, protocol 2.15) and its entry points: a
 * 32-bit stub at the load address (unused) and the 64-bit entry at +0x200,
 * which sets a stack and calls bz_main(boot_params).
 */
    .section .bzsetup, "a"
    .org 0x1f1
    .byte 1                 /* 0x1f1 setup_sects */
    .word 0                 /* 0x1f2 root_flags */
    .long _syssize          /* 0x1f4 syssize (16-byte units) */
    .word 0                 /* 0x1f8 ram_size */
    .word 0                 /* 0x1fa vid_mode */
    .word 0                 /* 0x1fc root_dev */
    .word 0xaa55            /* 0x1fe boot_flag */
    .byte 0xeb, 0x6a        /* 0x200 jump: header ends at 0x26c */
    .ascii "HdrS"           /* 0x202 header */
    .word 0x020f            /* 0x206 version 2.15 */
    .long 0                 /* 0x208 realmode_swtch */
    .word 0                 /* 0x20c start_sys_seg */
    .word 0                 /* 0x20e kernel_version */
    .byte 0                 /* 0x210 type_of_loader */
    .byte 0x01              /* 0x211 loadflags: LOADED_HIGH */
    .word 0                 /* 0x212 setup_move_size */
    .long 0x100000          /* 0x214 code32_start */
    .long 0                 /* 0x218 ramdisk_image */
    .long 0                 /* 0x21c ramdisk_size */
    .long 0                 /* 0x220 bootsect_kludge */
    .word 0                 /* 0x224 heap_end_ptr */
    .byte 0, 0              /* 0x226 ext_loader_ver, ext_loader_type */
    .long 0                 /* 0x228 cmd_line_ptr */
    .long 0x7fffffff        /* 0x22c initrd_addr_max */
    .long 0x200000          /* 0x230 kernel_alignment */
    .byte 0                 /* 0x234 relocatable_kernel: no */
    .byte 0                 /* 0x235 min_alignment */
    .word 0x0001            /* 0x236 xloadflags: XLF_KERNEL_64 */
    .long 255               /* 0x238 cmdline_size */
    .long 0                 /* 0x23c hardware_subarch */
    .quad 0                 /* 0x240 hardware_subarch_data */
    .long 0                 /* 0x248 payload_offset */
    .long 0                 /* 0x24c payload_length */
    .quad 0                 /* 0x250 setup_data */
    .quad 0x100000          /* 0x258 pref_address */
    .long _init_size        /* 0x260 init_size */
    .long 0                 /* 0x264 handover_offset */
    .long 0                 /* 0x268 kernel_info_offset */
    .org 0x400

    .section .bzentry, "ax"
    .code32
startup_32:
    cli
    hlt
    jmp startup_32
    .org 0x200
    .code64
    .globl startup_64
startup_64:
    lea bz_stack+8192(%rip), %rsp
    mov %rsi, %rdi
    call bz_main
1:  cli
    hlt
    jmp 1b

    .section .bss
    .align 16
bz_stack:
    .space 8192
