using System.Diagnostics;
using WeSaR.Training.Config;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public class HoconSyntaxTests
{
    public static TheoryData<string> RepoConfigs() =>
        [.. new[] { "hocon", "deploy" }.SelectMany(d => Directory.GetFiles(Path.Combine(TestEnv.RepoRoot, d), "*.conf", SearchOption.AllDirectories))
            .Select(f => Path.GetRelativePath(TestEnv.RepoRoot, f))];

    [Theory]
    [MemberData(nameof(RepoConfigs))]
    public void The_repositorys_own_configs_pass(string file)
        => Assert.Empty(HoconSyntax.Check(File.ReadAllText(Path.Combine(TestEnv.RepoRoot, file))));

    [Theory]
    [InlineData("a = 1\nb { c = [1, 2], d = \"x\" }\n")]
    [InlineData("a = \"brackets [ { inside \\\" a string\"\nb = 2")]
    [InlineData("a = \"\"\"multi [ line\n{ \" text\"\"\"\nb = [\n  1,\n  2\n]")]
    [InlineData("a = \"\"\"ends in a quote\"\"\"\"\nb = 1")]
    [InlineData("# a comment with [ and {\nb = 1 // another with ]\nc = 2")]
    [InlineData("a = ${b.c}\nd = ${?HOME}")]
    [InlineData("a += 1\nb : 2\nc { }\nd = []\n\"quoted.key\" = x")]
    [InlineData("list = [{ a = 1 }, { b = 2 }]\nurl = \"http://x/y\"")]
    [InlineData("device = cuda:0\npath = /a/b")]
    [InlineData("{ \"json\": [1, 2], \"nested\": { \"k\": null } }")]
    [InlineData("")]
    public void Good_text_passes(string text) => Assert.Empty(HoconSyntax.Check(text));

    [Theory]
    [InlineData("a = 1\nb = 2\ninit.scheme = [\"he\", \"small\"\nc = 3\n", 3, "'[' opened here is never closed")]
    [InlineData("model {\n  n-layer = 2\n", 1, "'{' opened here is never closed")]
    [InlineData("a = 1\nb = [1, 2]]\n", 2, "unexpected ']'")]
    [InlineData("a = 1\n}\n", 2, "unexpected '}'")]
    [InlineData("a = 1\nb = \"abc\nc = 2\n", 2, "'\"' opened here is never closed")]
    [InlineData("a = \"ends in an escaped quote\\\"\n", 1, "'\"' opened here is never closed")]
    [InlineData("a = 1\n\nb = \"\"\"abc\nc = 2\n", 3, "'\"\"\"' opened here is never closed")]
    [InlineData("a = ${b.c\n", 1, "'${' opened here is never closed")]
    [InlineData("a = 1\nmodel.n-layer =\nb = 2\n", 2, "model.n-layer has no value")]
    [InlineData("model.n-layer =", 1, "model.n-layer has no value")]
    [InlineData("model {\n  n-layer = 2\n  d-model = # later\n}\n", 3, "model.d-model has no value")]
    [InlineData("model { n-layer = , d-model = 4 }", 1, "model.n-layer has no value")]
    [InlineData("sweep { grid { optim.lr = } }", 1, "sweep.grid.optim.lr has no value")]
    [InlineData("a = 1\n= 2\n", 2, "'=' has no key before it")]
    public void Each_bad_case_names_its_line(string text, int line, string message)
    {
        var problems = HoconSyntax.Check(text);
        Assert.Contains(new SyntaxProblem(line, message), problems);
    }

    [Fact]
    public void A_close_that_skips_an_open_bracket_reports_only_that_bracket() =>
        Assert.Equal([new SyntaxProblem(2, "'[' opened here is never closed")],
            HoconSyntax.Check("sweep { name = s\n  grid { init.scheme = [he, small }\n}\nb = 1\n"));

    [Fact]
    public void A_close_that_matches_nothing_is_unexpected_and_the_open_bracket_is_still_reported() =>
        Assert.Equal([new SyntaxProblem(2, "unexpected ']'"), new SyntaxProblem(1, "'{' opened here is never closed")],
            HoconSyntax.Check("a = {\n  b = 1]\n"));

    [Fact]
    public void Parse_names_the_source_and_never_reaches_the_parser_with_bad_text()
    {
        // Unchecked, Akka's parser would loop on this with ever-growing memory; the check must answer at once.
        var watch = Stopwatch.StartNew();
        var e = Assert.Throws<ConfigException>(() => HoconSyntax.Parse("init.scheme = [\"he\", \"small\"\noptim.lr = 3e-3\n", "quick.conf"));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), watch.Elapsed.ToString());
        Assert.Equal(["quick.conf:1: '[' opened here is never closed"], e.Problems);
        Assert.Equal(2, HoconSyntax.Parse("model { n-layer = 2 }", "ok.conf").GetInt("model.n-layer"));
    }
}
