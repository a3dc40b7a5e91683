using System.Globalization;
using System.Text.RegularExpressions;
using WeSaR.TestSupport;

namespace WeSaR.Cli.Tests;

/// <summary>`wesar estimate`: the step's memory worked out from the shape, against real steps on this CPU.</summary>
public sealed class EstimateCommandTests : IDisposable
{
    readonly TempDir work = TestEnv.NewTempDir();

    public void Dispose() => work.Dispose();

    (double Measured, double Estimated) Measure(params string[] sets)
    {
        var r = Wesar.Run(TimeSpan.FromMinutes(5), ["--workdir", work.Path, "estimate", "--config", TestEnv.TinyPreset, "--measure", "2",
            .. new[] { $"data.path={TestEnv.Corpus}" }.Concat(sets).SelectMany(k => new[] { "--set", k })]);
        Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
        var m = Regex.Match(r.Stdout, @"C heap high-water ([\d,]+) MiB against the estimate's ([\d,]+) MiB");
        Assert.True(m.Success, r.Stdout);
        return (double.Parse(m.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture),
                double.Parse(m.Groups[2].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture));
    }

    [Fact]
    public void What_the_estimate_adds_for_depth_and_batch_is_what_real_steps_add()
    {
        // A fixed runtime share (LibTorch's and MKL's own buffers) is in every measurement and no estimate: compare growth.
        // The allocator's fragmentation moves single measurements by up to a third.
        var baseline = Measure("model.n-layer=2", "train.batch-size=32");
        var deeper = Measure("model.n-layer=6", "train.batch-size=32");
        var wider = Measure("model.n-layer=2", "train.batch-size=64");
        foreach (var (name, grown) in new[] { ("depth", deeper), ("batch", wider) })
        {
            var measured = grown.Measured - baseline.Measured;
            var estimated = grown.Estimated - baseline.Estimated;
            Assert.True(estimated > 0 && Math.Abs(measured / estimated - 1) < 0.45,
                $"{name}: measured growth {measured} MiB, estimated {estimated} MiB (baseline {baseline}, grown {grown})");
        }
        Assert.InRange(baseline.Measured / baseline.Estimated, 0.8, 2.0);
    }

    [Fact]
    public void Measure_refuses_a_step_too_large_for_the_heap_figures_before_it_trains()
    {
        var r = Wesar.Run(TimeSpan.FromMinutes(1), ["--workdir", work.Path, "estimate", "--config",
            Path.Combine(TestEnv.RepoRoot, "hocon", "presets", "130m.conf"), "--measure", "1"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--measure checks steps up to 1,024 MiB", r.Stderr);
        Assert.False(Directory.Exists(Path.Combine(work.Path, "data")), "nothing was prepared or trained");
    }

    [Fact]
    public void The_gpu_presets_are_sized_against_devices_and_13b_fits_none()
    {
        string Estimate(string preset)
        {
            var r = Wesar.Run(TimeSpan.FromMinutes(1), ["estimate", "--config", Path.Combine(TestEnv.RepoRoot, "hocon", "presets", preset)]);
            Assert.True(r.ExitCode == 0, r.Stdout + r.Stderr);
            return r.Stdout;
        }
        var small = Estimate("130m.conf");
        Assert.Contains("parameters 162,935,040,", small);
        Assert.Matches(@"H100 SXM 80GB +79\.6 GiB +yes", small);
        var huge = Estimate("13b.conf");
        Assert.Matches(@"H200 141GB +139\.8 GiB +no", huge);
        Assert.Contains("no single device listed holds even the weights and AdamW state (195.3 GiB)", huge);
        var large = Estimate("1.3b.conf");
        Assert.Matches(@"H100 SXM 80GB +79\.6 GiB +no", large);
        Assert.Matches(@"H200 141GB +139\.8 GiB +yes", large);
    }
}
