/* Table-driven option parsing with strict number checks ("--lr nan", "--batch 0" are errors). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const cli_option *find_option(const cli_command *command, const char *name, size_t length) {
    for (int i = 0; i < command->option_count; i++)
        if (strlen(command->options[i].name) == length &&
            strncmp(command->options[i].name, name, length) == 0)
            return &command->options[i];
    return NULL;
}

static int choice_allowed(const char *choices, const char *value) {
    size_t length = strlen(value);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t part = bar ? (size_t)(bar - p) : strlen(p);
        if (part == length && strncmp(p, value, length) == 0) return 1;
        if (!bar) break;
        p = bar + 1;
    }
    return 0;
}

static int parse_value(const cli_option *option, const char *value, mlp_error *error) {
    char *end;
    switch (option->type) {
    case CLI_INT: {
        errno = 0;
        long number = strtol(value, &end, 10);
        if (end == value || *end != '\0' || errno == ERANGE)
            return mlp_error_set(error, "%s: '%s' is not a whole number", option->name, value);
        if (number < option->min || number > option->max)
            return mlp_error_set(error, "%s: %ld is out of range %.0f..%.0f", option->name, number,
                             option->min, option->max);
        *(int *)option->target = (int)number;
        return 0;
    }
    case CLI_U64: {
        errno = 0;
        if (value[0] == '-') return mlp_error_set(error, "%s: '%s' must not be negative", option->name, value);
        unsigned long long number = strtoull(value, &end, 10);
        if (end == value || *end != '\0' || errno == ERANGE)
            return mlp_error_set(error, "%s: '%s' is not a whole number", option->name, value);
        *(uint64_t *)option->target = (uint64_t)number;
        return 0;
    }
    case CLI_FLOAT: {
        errno = 0;
        double number = strtod(value, &end);
        if (end == value || *end != '\0' || errno == ERANGE || !isfinite(number))
            return mlp_error_set(error, "%s: '%s' is not a finite number", option->name, value);
        int too_low = option->min_exclusive ? number <= option->min : number < option->min;
        if (too_low || number > option->max)
            return mlp_error_set(error, "%s: %s is out of range %s%g..%g%s", option->name, value,
                             option->min_exclusive ? "(" : "[", option->min, option->max, "]");
        *(float *)option->target = (float)number;
        return 0;
    }
    case CLI_STRING:
        *(const char **)option->target = value;
        return 0;
    case CLI_CHOICE:
        if (!choice_allowed(option->choices, value))
            return mlp_error_set(error, "%s: '%s' is not one of %s", option->name, value, option->choices);
        *(const char **)option->target = value;
        return 0;
    case CLI_STRING_LIST: {
        cli_string_list *list = option->target;
        if (list->count >= CLI_MAX_LIST)
            return mlp_error_set(error, "%s: given more than %d times", option->name, CLI_MAX_LIST);
        list->values[list->count++] = value;
        return 0;
    }
    case CLI_FLAG:
        break;
    }
    return 0;
}

int cli_set_option(const cli_command *command, const char *name, const char *value, mlp_error *error) {
    const cli_option *option = find_option(command, name, strlen(name));
    if (!option) return 1;
    if (option->type == CLI_FLAG) {
        *(int *)option->target = 1;
        return 0;
    }
    return parse_value(option, value, error) != 0 ? CLI_EXIT_USAGE : 0;
}

cli_option *cli_options_reserve(cli_option_table *table, int count) {
    if (count < 0 || table->count + count > CLI_MAX_OPTIONS) {
        fprintf(stderr, "trainer: internal error: more than %d options in one command\n", CLI_MAX_OPTIONS);
        abort();
    }
    cli_option *first = table->options + table->count;
    memset(first, 0, (size_t)count * sizeof *first);
    table->count += count;
    return first;
}

void cli_options_add(cli_option_table *table, cli_option option) {
    *cli_options_reserve(table, 1) = option;
}

int cli_parse(const cli_command *command, int argc, char **argv, int first, mlp_error *error) {
    for (int i = first; i < argc; i++) {
        const char *argument = argv[i];
        if (strcmp(argument, "--help") == 0 || strcmp(argument, "-h") == 0) {
            cli_print_help(command, stdout);
            return -1;
        }
        if (strncmp(argument, "--", 2) != 0 || argument[2] == '\0') {
            if (command->positionals && command->positionals->count < CLI_MAX_LIST) {
                command->positionals->values[command->positionals->count++] = argument;
                continue;
            }
            mlp_error_set(error, "unexpected argument '%s' (see --help)", argument);
            return CLI_EXIT_USAGE;
        }
        const char *equals = strchr(argument, '=');
        size_t name_length = equals ? (size_t)(equals - argument) : strlen(argument);
        const cli_option *option = find_option(command, argument, name_length);
        if (!option) {
            mlp_error_set(error, "unknown option '%.*s' (see --help)", (int)name_length, argument);
            return CLI_EXIT_USAGE;
        }
        if (option->type == CLI_FLAG) {
            if (equals) {
                mlp_error_set(error, "%s takes no value", option->name);
                return CLI_EXIT_USAGE;
            }
            *(int *)option->target = 1;
            continue;
        }
        const char *value = equals ? equals + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                mlp_error_set(error, "%s needs a value (%s)", option->name, option->value_name);
                return CLI_EXIT_USAGE;
            }
            value = argv[++i];
        }
        if (parse_value(option, value, error) != 0) return CLI_EXIT_USAGE;
    }
    return 0;
}

/* The current value of an option's target, as its default. */
static void format_default(const cli_option *option, char *text, size_t size) {
    text[0] = '\0';
    switch (option->type) {
    case CLI_INT: snprintf(text, size, "%d", *(int *)option->target); break;
    case CLI_U64: snprintf(text, size, "%llu", (unsigned long long)*(uint64_t *)option->target); break;
    case CLI_FLOAT: snprintf(text, size, "%g", *(float *)option->target); break;
    case CLI_STRING:
    case CLI_CHOICE: {
        const char *value = *(const char **)option->target;
        snprintf(text, size, "%s", value ? value : "none");
        break;
    }
    case CLI_FLAG:
    case CLI_STRING_LIST: break;
    }
}

void cli_print_help(const cli_command *command, FILE *out) {
    fprintf(out, "usage: %s\n\n%s\n\noptions:\n", command->usage, command->description);
    for (int i = 0; i < command->option_count; i++) {
        const cli_option *option = &command->options[i];
        char left[64], value[256];
        if (option->type == CLI_FLAG) snprintf(left, sizeof left, "%s", option->name);
        else if (option->type == CLI_CHOICE) snprintf(left, sizeof left, "%s %s", option->name, option->choices);
        else snprintf(left, sizeof left, "%s %s", option->name, option->value_name);
        format_default(option, value, sizeof value);
        fprintf(out, "  %-26s %s", left, option->help);
        if (value[0]) fprintf(out, " (default: %s)", value);
        fputc('\n', out);
    }
    fprintf(out, "  %-26s %s\n", "--help", "print this help and exit");
}
