/*
 * rtcalarm: a static helper for the real-guest initramfs (prepare.sh):
 * sets the RTC alarm 2 seconds ahead through Linux's RTC character device
 * (RTC_ALM_SET, RTC_AIE_ON) and waits up to 10 s for its interrupt (a read
 * of /dev/rtc0 returns when the alarm interrupt came). Prints one line and
 * exits 0 when the alarm interrupted. Unlike sysfs's wakealarm, this works
 * without ACPI wake-up support (acpi=off).
 */
#include <fcntl.h>
#include <linux/rtc.h>
#include <poll.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    int fd = open("/dev/rtc0", O_RDONLY);
    struct rtc_time t;
    if (fd < 0 || ioctl(fd, RTC_RD_TIME, &t) < 0) {
        perror("rtcalarm: /dev/rtc0");
        return 2;
    }
    struct rtc_time a = t;
    a.tm_sec += 2;
    if (a.tm_sec >= 60) {
        a.tm_sec -= 60;
        if (++a.tm_min >= 60) {
            a.tm_min = 0;
            a.tm_hour = (a.tm_hour + 1) % 24;
        }
    }
    if (ioctl(fd, RTC_ALM_SET, &a) < 0 || ioctl(fd, RTC_AIE_ON, 0) < 0) {
        perror("rtcalarm: setting the alarm");
        return 2;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, 10000);
    unsigned long data = 0;
    if (r > 0 && read(fd, &data, sizeof(data)) != (ssize_t)sizeof(data))
        r = 0;
    (void)ioctl(fd, RTC_AIE_OFF, 0);
    printf("rtcalarm: %s (set at %02d:%02d:%02d for %02d:%02d:%02d, data "
           "0x%lx)\n",
           r > 0 ? "fired" : "no interrupt within 10 s", t.tm_hour, t.tm_min,
           t.tm_sec, a.tm_hour, a.tm_min, a.tm_sec, data);
    return r > 0 ? 0 : 1;
}
