/* IS_ENABLED(CONFIG_X): 1 when the option is set, else 0, so every
 * configuration still type-checks (the Linux/BusyBox idiom). */
#ifndef ABUR_KCONFIG_H
#define ABUR_KCONFIG_H

#define __ARG_PLACEHOLDER_1 0,
#define __take_second_arg(__ignored, val, ...) val
#define __is_defined(x) ___is_defined(x)
#define ___is_defined(val) ____is_defined(__ARG_PLACEHOLDER_##val)
#define ____is_defined(arg1_or_junk) __take_second_arg(arg1_or_junk 1, 0)
#define IS_ENABLED(option) __is_defined(option)

#endif
