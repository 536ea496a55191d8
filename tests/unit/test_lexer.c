/* test_lexer.c: the qvmconf token stream: comments, quotes, @files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/lexer.h"
#include "fake_env.h"

static struct lexer lx;
static struct diag dg;

static void lex_text(const char *text, const struct fake_file *files)
{
    diag_init(&dg, NULL);
    lex_init(&lx, fake_env(files), &dg);
    lex_buffer(&lx, "t.qvmconf", text, strlen(text));
}

static int teardown(void **st)
{
    (void)st;
    lex_free(&lx);
    return 0;
}

static void expect_tokens(const char *const *want, size_t n)
{
    assert_int_equal(dg.errors, 0);
    assert_int_equal(lx.toks.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(lx.toks.v[i].text, want[i]);
}
#define EXPECT(...)                                                            \
    do {                                                                       \
        const char *const w_[] = {__VA_ARGS__};                                \
        expect_tokens(w_, sizeof(w_) / sizeof(w_[0]));                         \
    } while (0)

static void test_words_and_comments(void **st)
{
    (void)st;
    lex_text("# header\nram 1m   # comment\n\tcpu\n\n  vdev ser8250 name "
             "a#b\n#end",
             NULL);
    EXPECT("ram", "1m", "cpu", "vdev", "ser8250", "name", "a#b");
    /* spans are 1-based line:col */
    assert_int_equal(lx.toks.v[0].span.line, 2);
    assert_int_equal(lx.toks.v[0].span.col, 1);
    assert_int_equal(lx.toks.v[2].span.line, 3);
    assert_int_equal(lx.toks.v[2].span.col, 2);
    assert_int_equal(lx.toks.v[6].span.line, 5);
    assert_int_equal(lx.toks.v[6].span.col, 21);
    assert_string_equal(lx.toks.v[0].span.file, "t.qvmconf");
}

static void test_crlf_and_no_final_newline(void **st)
{
    (void)st;
    lex_text("ram 1m\r\ncpu\r\nload x", NULL);
    EXPECT("ram", "1m", "cpu", "load", "x");
    assert_int_equal(lx.toks.v[2].span.line, 2);
    assert_int_equal(lx.toks.v[4].span.line, 3);
}

static void test_quotes(void **st)
{
    (void)st;
    lex_text("cmdline \"console=ttyS0 root=/dev/vda\" hostdev >\"|tee a b\" "
             "x\"\"y \"\"",
             NULL);
    EXPECT("cmdline", "console=ttyS0 root=/dev/vda", "hostdev", ">|tee a b",
           "xy", "");
    assert_true(lx.toks.v[1].quoted);
    assert_false(lx.toks.v[0].quoted);
}

static void test_quote_continuation_and_folding(void **st)
{
    (void)st;
    lex_text("cmdline \"a=1 \\\n    b=2\" \"p=0\n\tq=1  r=2\" \"x\\\"y\\\\z\" "
             "\"back\\slash\"",
             NULL);
    EXPECT("cmdline", "a=1 b=2", "p=0 q=1  r=2", "x\"y\\z", "back\\slash");
    /* the token after a multi-line quote has the right line */
    lex_free(&lx);
    lex_text("a \"1\n2\n3\" b", NULL);
    assert_int_equal(lx.toks.v[2].span.line, 3);
}

static void test_unterminated_quote(void **st)
{
    (void)st;
    lex_text("ram 1m\ncmdline \"abc\ndef", NULL);
    assert_int_equal(dg.errors, 1);
    assert_string_equal(dg.last, "unterminated quote");
    /* the broken string is kept, marked bad, so `cmdline` does not take
     * the next word and report a second error */
    assert_int_equal(lx.toks.n, 4);
    assert_true(lx.toks.v[3].bad);
    assert_false(lx.toks.v[2].bad);
}

static void test_nul_byte(void **st)
{
    (void)st;
    static const char text[] = "ram 1m\0x cpu";
    diag_init(&dg, NULL);
    lex_init(&lx, fake_env(NULL), &dg);
    lex_buffer(&lx, "t", text, sizeof(text) - 1);
    assert_int_equal(dg.errors, 1);
    assert_string_equal(dg.last, "NUL byte in configuration text");
    assert_int_equal(lx.toks.n, 3); /* the NUL is dropped, the words kept */
    assert_string_equal(lx.toks.v[2].text, "cpu");
}

static void test_argv_words_are_tokens(void **st)
{
    (void)st;
    const char *argv[] = {"cmdline", "a b c", "#notacomment", "\"q\""};
    diag_init(&dg, NULL);
    lex_init(&lx, fake_env(NULL), &dg);
    lex_argv(&lx, 4, argv);
    EXPECT("cmdline", "a b c", "#notacomment", "\"q\"");
    assert_string_equal(lx.toks.v[1].span.file, "<command line>");
    assert_int_equal(lx.toks.v[3].span.col, 4);
}

static const struct fake_file inc_files[] = {
    {.path = "a.qvmconf", .data = "system a\n@b.qvmconf\ncpu"},
    {.path = "b.qvmconf", .data = "ram 1m @c.qvmconf"},
    {.path = "c.qvmconf", .data = "dryrun"},
    {.path = "loop1", .data = "ram 1m @loop2"},
    {.path = "loop2", .data = "cpu @loop1"},
    {.path = "self", .data = "@./self"},
    {.path = "dir", .dir = true},
    {0},
};

static void test_include_nested(void **st)
{
    (void)st;
    const char *argv[] = {"@a.qvmconf", "load", "x"};
    diag_init(&dg, NULL);
    lex_init(&lx, fake_env(inc_files), &dg);
    lex_argv(&lx, 3, argv);
    EXPECT("system", "a", "ram", "1m", "dryrun", "cpu", "load", "x");
    assert_string_equal(lx.toks.v[2].span.file, "b.qvmconf");
    assert_string_equal(lx.toks.v[4].span.file, "c.qvmconf");
    assert_string_equal(lx.toks.v[5].span.file, "a.qvmconf");
    assert_int_equal(lx.toks.v[5].span.line, 3);
}

static void test_include_cycle(void **st)
{
    (void)st;
    const char *argv[] = {"@loop1"};
    diag_init(&dg, NULL);
    lex_init(&lx, fake_env(inc_files), &dg);
    lex_argv(&lx, 1, argv);
    assert_int_equal(dg.errors, 1);
    assert_string_equal(dg.last, "'@loop1' includes itself (an @file cycle)");
    /* tokens before the cycle are kept */
    assert_int_equal(lx.toks.n, 3);
}

static void test_include_self_and_missing(void **st)
{
    (void)st;
    const char *argv[] = {"@self", "@nothere", "@dir", "@"};
    diag_init(&dg, NULL);
    lex_init(&lx, fake_env(inc_files), &dg);
    lex_argv(&lx, 4, argv);
    assert_int_equal(dg.errors, 4);
    assert_string_equal(dg.last, "'@' must be followed by a file name");
}

static void test_quoted_at_is_a_word(void **st)
{
    (void)st;
    lex_text("name \"@x\"", NULL);
    EXPECT("name", "@x");
}

static void test_asinfo(void **st)
{
    (void)st;
    lex_text("pass loc $asinfo_start{dev1},$asinfo_length{dev1}=0x1000 x"
             "$asinfo_start{ram0}y",
             NULL);
    EXPECT("pass", "loc", "0xfe000000,0x1000=0x1000", "x0x80000000y");
    lex_free(&lx);
    lex_text("a $asinfo_start{nope} $asinfo_size{dev1} $asinfo_start{} "
             "$asinfo_start{dev1",
             NULL);
    assert_int_equal(dg.errors, 4);
    assert_int_equal(lx.toks.n, 5);
    assert_false(lx.toks.v[0].bad);
    for (int i = 1; i < 5; i++)
        assert_true(lx.toks.v[i].bad);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_words_and_comments, teardown),
        cmocka_unit_test_teardown(test_crlf_and_no_final_newline, teardown),
        cmocka_unit_test_teardown(test_quotes, teardown),
        cmocka_unit_test_teardown(test_quote_continuation_and_folding,
                                  teardown),
        cmocka_unit_test_teardown(test_unterminated_quote, teardown),
        cmocka_unit_test_teardown(test_nul_byte, teardown),
        cmocka_unit_test_teardown(test_argv_words_are_tokens, teardown),
        cmocka_unit_test_teardown(test_include_nested, teardown),
        cmocka_unit_test_teardown(test_include_cycle, teardown),
        cmocka_unit_test_teardown(test_include_self_and_missing, teardown),
        cmocka_unit_test_teardown(test_quoted_at_is_a_word, teardown),
        cmocka_unit_test_teardown(test_asinfo, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
