using System.Buffers.Binary;
using System.Text;
using WeSaR.Training.Config;
using WeSaR.Training.Data;
using WeSaR.Training.Loop;
using WeSaR.TestSupport;

namespace WeSaR.Training.Tests;

public sealed class TensorBoardTests : IDisposable
{
    readonly TempDir dir = TestEnv.NewTempDir();

    public void Dispose() => dir.Dispose();

    /// <summary>TFRecord framing: length, masked CRC-32C of the length, data, masked CRC-32C of the data.</summary>
    static List<byte[]> Records(byte[] file)
    {
        var records = new List<byte[]>();
        for (var at = 0; at < file.Length;)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(at));
            Assert.Equal(Masked(file.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 8)));
            var data = file.AsSpan(at + 12, length).ToArray();
            Assert.Equal(Masked(data), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(at + 12 + length)));
            records.Add(data);
            at += 12 + length + 4;
        }
        return records;
    }

    static uint Masked(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;   // CRC-32C (Castagnoli)
        }
        crc = ~crc;
        return ((crc >> 15) | (crc << 17)) + 0xA282EAD8u;
    }

    [Fact]
    public void A_run_writes_valid_tensorboard_records_for_every_logged_step()
    {
        var runDir = Path.Combine(dir.Path, "run");
        var s = TrainSettings.Load(TestEnv.TinyPreset, [$"data.path={TestEnv.Corpus}", $"run.dir={runDir}", "init.scheme=wesar(he)", "model.n-layer=1",
            "model.d-model=32", "model.block-size=16", "train.batch-size=2", "train.steps=12", "train.eval-interval=6", "train.eval-batches=1",
            "train.measure-interval=4", "run.threads=1"]);
        using (var data = DataSource.Open(s.Data, dir.Path))
            new TrainingRun(s, runDir).Execute(data, ResumePoint.Fresh, new LocalRunControl(s.Spike), new NoOutput(), CancellationToken.None);

        var file = Assert.Single(Directory.GetFiles(Path.Combine(runDir, TensorBoardLog.Folder), "events.out.tfevents.*"));
        var records = Records(File.ReadAllBytes(file)).Select(r => Encoding.UTF8.GetString(r)).ToList();
        Assert.Contains(records, r => r.Contains("brain.Event:2"));   // the file version record TensorBoard expects first
        Assert.Equal(12, records.Count(r => r.Contains("train/loss")));
        Assert.Equal(2, records.Count(r => r.Contains("val/loss")));
        // Measured steps: every step of the first interval, then every 4th: 1, 2, 3, 4, 8, 12.
        Assert.Equal(6, records.Count(r => r.Contains("update_ratio/h.0.mlp.down_proj")));
        Assert.Equal(6, records.Count(r => r.Contains("gate/h.0.mlp.up_proj")));
    }

    sealed class NoOutput : IRunObserver;
}
