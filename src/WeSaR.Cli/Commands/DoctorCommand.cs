using System.CommandLine;
using System.Reflection;
using static TorchSharp.torch;

namespace WeSaR.Cli.Commands;

/// <summary>`wesar doctor`: can this machine train, and on what.</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var cmd = new Command("doctor", "Print TorchSharp/LibTorch versions, devices, threads and whether the native loader fix was applied");
        cmd.SetAction(_ => Run());
        return cmd;
    }

    static int Run()
    {
        var baseDir = AppContext.BaseDirectory;
        var marker = Path.Combine(baseDir, "runtimes", "linux-x64", "native", "wesar-loader-fix.txt");
        Console.WriteLine($"wesar          {Assembly.GetExecutingAssembly().GetName().Version}");
        Console.WriteLine($"TorchSharp     {typeof(TorchSharp.torch).Assembly.GetName().Version}");
        Console.WriteLine($"loader fix     {(File.Exists(marker) ? File.ReadAllText(marker).Trim() : "no marker (not Linux, or not built by this repo)")}");
        try
        {
            InitializeDeviceType(TorchSharp.DeviceType.CPU);
            Console.WriteLine($"LibTorch       {__version__}");
            Console.WriteLine($"devices        cpu{(cuda.is_available() ? string.Concat(Enumerable.Range(0, cuda.device_count()).Select(i => $", cuda:{i}")) : "")}");
            Console.WriteLine($"CUDA           {(cuda.is_available() ? $"available, {cuda.device_count()} device(s)" : "not available (CPU build, or no driver)")}");
            Console.WriteLine($"threads        {get_num_threads()} intra-op, {get_num_interop_threads()} inter-op, {Environment.ProcessorCount} cores");
            using var x = ones(64, 64);
            Console.WriteLine($"smoke test     {(x.matmul(x).sum().item<float>() == 64 * 64 * 64 ? "ok (64x64 matmul)" : "WRONG RESULT")}");
            return 0;
        }
        catch (Exception e)
        {
            Console.WriteLine($"LibTorch       FAILED to load: {e.Message}");
            Console.WriteLine("               check: ldd runtimes/linux-x64/native/libLibTorchSharp.so in the output folder");
            return GlobalOptions.Failed;
        }
    }
}
