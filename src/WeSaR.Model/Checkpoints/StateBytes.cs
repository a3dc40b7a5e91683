using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WeSaR.Model.Checkpoints;

/// <summary>Module weights and optimizer state to and from bytes, in TorchSharp's own format.</summary>
public static class StateBytes
{
    public static byte[] Save(nn.Module module) => Write(w => module.save(w));

    public static byte[] Save(OptimizerHelper optimizer) => Write(w => optimizer.save_state_dict(w));

    /// <summary>Loads weights into a module that must still be on the CPU (loading moves CUDA modules, which orphans optimizers).</summary>
    public static void Load(nn.Module module, byte[] bytes) => Read(bytes, r => module.load(r));

    public static void Load(OptimizerHelper optimizer, byte[] bytes) => Read(bytes, r => optimizer.load_state_dict(r));

    static byte[] Write(Action<BinaryWriter> save)
    {
        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true)) save(w);
        return ms.ToArray();
    }

    static void Read(byte[] bytes, Action<BinaryReader> load)
    {
        using var r = new BinaryReader(new MemoryStream(bytes));
        load(r);
    }
}
