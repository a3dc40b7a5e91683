using System.Globalization;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar bench memory` on a short real training run: where resident memory is, and the leak verdict.</summary>
public sealed class BenchMemoryTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    public void Dispose() => work.Dispose();

    [Fact]
    public void Splits_resident_memory_and_shows_what_handing_the_free_heap_back_returns()
    {
        var r = Wesar.Run(TimeSpan.FromMinutes(10), ["--workdir", work.Path, "bench", "memory", "--steps", "30", "--rows", "3",
            .. new[] { $"data.path={TestEnv.Corpus}", "train.batch-size=8", "train.eval-interval=15", "train.eval-batches=2", "checkpoint.interval=15" }
                .SelectMany(k => new[] { "--set", k })]);
        var verdict = Regex.Match(r.Stdout, @"^memory trend steps \d+-30: .*: (flat|GROWS)$", RegexOptions.Multiline);
        Assert.True(verdict.Success, r.Stdout + r.Stderr);
        Assert.Equal(verdict.Groups[1].Value == "GROWS" ? 1 : 0, r.ExitCode);

        // RSS anon file native free managed [other]
        double[] Row(string label)
        {
            var m = Regex.Match(r.Stdout, $@"^ *{label} +([\d]+) +([\d]+) +([\d]+) +([\d]+) +([\d]+) +([\d]+) +([\d-]+)", RegexOptions.Multiline);
            Assert.True(m.Success, $"no row {label}:\n{r.Stdout}");
            return m.Groups.Values.Skip(1).Take(6).Select(g => double.Parse(g.Value, CultureInfo.InvariantCulture)).ToArray();
        }
        foreach (var label in new[] { "10", "20", "30", "before", "after", "trimmed" })
        {
            var v = Row(label);
            Assert.InRange(v[0], v[1] + v[2] - 2, v[1] + v[2] + 2);   // RSS = anonymous + file-backed or shared, each rounded
        }
        var (before, last, after, trimmed) = (Row("before"), Row("30"), Row("after"), Row("trimmed"));
        Assert.True(last[0] > before[0] && last[2] > before[2], "training maps LibTorch and fills the heap:\n" + r.Stdout);
        Assert.True(after[3] < last[3], "the run's tensors are freed when it ends:\n" + r.Stdout);
        Assert.True(trimmed[0] < after[0] - 8, "malloc_trim hands the kept free heap back:\n" + r.Stdout);
        var state = Regex.Match(r.Stdout, @"training state of [\d,]+ parameters: ([\d.]+)\)");
        Assert.True(state.Success, r.Stdout);
        Assert.True(last[3] >= double.Parse(state.Groups[1].Value, CultureInfo.InvariantCulture), "the heap in use holds at least the training state:\n" + r.Stdout);
    }
}
