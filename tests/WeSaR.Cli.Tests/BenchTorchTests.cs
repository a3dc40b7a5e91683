using System.Globalization;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar bench torch` as a user runs it: a real PyTorch process per scheme and repeat.</summary>
public sealed class BenchTorchTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    public void Dispose() => work.Dispose();

    // A small model, so the test times a handful of short steps.
    string[] Bench(params string[] schemes) =>
    [
        "--workdir", work.Path, "bench", "torch", "--steps", "2", "--repeats", "2", .. schemes.SelectMany(s => new[] { "--scheme", s }),
        .. new[] { $"data.path={TestEnv.Corpus}", "model.n-layer=1", "model.n-head=2", "model.d-model=32", "model.block-size=16", "train.batch-size=2" }
            .SelectMany(k => new[] { "--set", k }),
    ];

    [PyTorchFact]
    public void Prints_both_sides_step_times_and_their_ratio_per_scheme()
    {
        var r = Wesar.Run(Bench("he", "wesar-frozen(he)"));
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        Assert.Matches(@"PyTorch 1\.\d+\S* with \S*openblas\S*", r.Stdout);
        foreach (var scheme in new[] { "he", "wesar-frozen(he)" })
        {
            // scheme, .NET min, median, MFU, PyTorch min, median, MFU, median ratio, min ratio
            var row = Regex.Match(r.Stdout, $@"^{Regex.Escape(scheme)} +([\d.]+) +([\d.]+) +\d+ ?% +([\d.]+) +([\d.]+) +\d+ ?% +([\d.]+) +([\d.]+)\s*$", RegexOptions.Multiline);
            Assert.True(row.Success, r.Stdout);
            var v = row.Groups.Values.Skip(1).Select(g => double.Parse(g.Value, CultureInfo.InvariantCulture)).ToArray();
            Assert.All(v, x => Assert.True(x > 0, r.Stdout));
            Assert.True(v[0] <= v[1] && v[2] <= v[3], r.Stdout);   // min <= median on each side
            Assert.InRange(v[4], v[1] / v[3] * 0.9, v[1] / v[3] * 1.1);   // the ratio of the medians printed (rounded to 0.1 ms)
        }
    }

    [PyTorchFact]
    public void Refuses_a_pytorch_on_the_reference_blas()
    {
        // Debian's reference BLAS (libblas3, which python3-torch pulls in), put first on the loader's path for real.
        const string reference = "/usr/lib/x86_64-linux-gnu/blas", lapack = "/usr/lib/x86_64-linux-gnu/lapack";
        Assert.True(File.Exists(Path.Combine(reference, "libblas.so.3")), "libblas3 is not installed (apt-get install libblas3)");
        var r = Wesar.Run(TimeSpan.FromMinutes(10), new Dictionary<string, string> { ["LD_LIBRARY_PATH"] = $"{reference}:{lapack}" }, Bench("he"));
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("not OpenBLAS or MKL", r.Stderr);
        Assert.Contains(Path.Combine(reference, "libblas.so"), r.Stderr);
        Assert.DoesNotContain(".NET/PyTorch", r.Stdout);
    }
}

/// <summary>`wesar bench sweep`: a real orchestrated sweep per slot split against bare runs in the same process.</summary>
public sealed class BenchSweepTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    public void Dispose() => work.Dispose();

    [Fact]
    public void Times_both_slot_splits_against_bare_runs_and_names_the_faster()
    {
        var r = Wesar.Run(TimeSpan.FromMinutes(10), ["--workdir", work.Path, "bench", "sweep", "--runs", "2", "--steps", "10", "--repeats", "1",
            .. new[] { $"data.path={TestEnv.Corpus}", "model.n-layer=1", "model.n-head=2", "model.d-model=32", "model.block-size=16", "train.batch-size=2" }
                .SelectMany(k => new[] { "--set", k })]);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var cores = Environment.ProcessorCount;
        foreach (var split in new[] { $"{cores} slot(s) x 1 thread(s)", $"1 slot(s) x {cores} thread(s)" })
        {
            var row = Regex.Match(r.Stdout, $@"^{Regex.Escape(split)} +1 +([\d.]+) +([\d.]+) +([\d.]+) +([\d.]+)\s*$", RegexOptions.Multiline);
            Assert.True(row.Success, r.Stdout);
            var v = row.Groups.Values.Skip(1).Select(g => double.Parse(g.Value, CultureInfo.InvariantCulture)).ToArray();
            var slots = split.StartsWith('1') && cores > 1 ? 1 : cores;
            Assert.InRange(v[1], 2 * v[0] / slots - 0.02, 2 * v[0] / slots + 0.02);   // ideal = runs x bare / slots (printed to 0.01 s)
            Assert.InRange(v[3], v[1] / v[2] * 0.95, v[1] / v[2] * 1.05);          // ratio = ideal / sweep wall
        }
        Assert.Matches(@"faster split: \d+ slot\(s\) x \d+ thread\(s\)", r.Stdout);
    }
}

