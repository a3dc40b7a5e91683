using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace WeSaR.Model;

/// <summary>AdamW hyper-parameters (defaults: the WeSaR paper's pre-training set-up, beta2 0.95, weight decay 0.1).</summary>
public sealed record AdamWOptions(double Lr, double Beta1 = 0.9, double Beta2 = 0.95, double Eps = 1e-8, double WeightDecay = 0.1);

public static class Optim
{
    /// <summary>
    /// AdamW with two groups, in a fixed order (optimizer state is matched by position on load):
    /// matrices decay; gates, norm gains and anything else below 2-D do not. Frozen gates are left out.
    /// Build it after the model is on its device and has loaded its weights.
    /// </summary>
    public static AdamW AdamW(nn.Module model, AdamWOptions o)
    {
        var trainable = model.parameters().Where(p => p.requires_grad).ToList();
        // Options, not the (ps, weight_decay:) overload, which silently resets the group's lr to 1e-3.
        return optim.AdamW([
            new AdamW.ParamGroup(trainable.Where(p => p.dim() >= 2).ToList(), new AdamW.Options { weight_decay = o.WeightDecay }),
            new AdamW.ParamGroup(trainable.Where(p => p.dim() < 2).ToList(), new AdamW.Options { weight_decay = 0.0 }),
        ], lr: o.Lr, beta1: o.Beta1, beta2: o.Beta2, eps: o.Eps);
    }

    /// <summary>
    /// One AdamW step: the update TorchSharp's <c>AdamW.step()</c> makes, bit for bit, on that optimizer's own state
    /// (so checkpoints keep its format), with every Scalar held until its op has returned. TorchSharp's step passes
    /// temporary Scalars (eps, the betas) that nothing references during the native call, so a GC started by another
    /// trainer's thread can finalize one mid-op: the op fails ("toFloat") and the run crashes. No amsgrad, no maximize.
    /// </summary>
    public static void Step(AdamW opt)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var states = opt.state_dict().State;
        var i = 0;
        foreach (var g in opt.ParamGroups.Cast<AdamW.ParamGroup>())
        {
            var o = g.Options;
            var (lr, beta1, beta2) = (o.LearningRate!.Value, o.beta1!.Value, o.beta2!.Value);
            using Scalar decay = 1 - lr * o.weight_decay!.Value, b1 = beta1, b1Rest = 1 - beta1, b2 = beta2, b2Rest = 1 - beta2, eps = o.eps!.Value;
            foreach (var p in g.Parameters)
            {
                var state = (AdamW.State)states[i++];
                var grad = p.grad;
                if (grad is null) continue;
                state.step += 1;
                using Scalar root = Math.Sqrt(1 - Math.Pow(beta2, state.step)), stepSize = -(lr / (1 - Math.Pow(beta1, state.step)));
                using var perParameter = NewDisposeScope();   // frees the denominator now: one parameter's size, not all of them
                p.mul_(decay);
                state.exp_avg.mul_(b1).add_(grad, b1Rest);
                state.exp_avg_sq.mul_(b2).addcmul_(grad, grad, b2Rest);
                p.addcdiv_(state.exp_avg, state.exp_avg_sq.sqrt().div_(root).add_(eps, Scalars.One), stepSize);   // add_(eps) alone makes a temporary alpha
            }
        }
    }

    /// <summary>Sets every group's learning rate (the schedule is a pure function of the step).</summary>
    public static void SetLearningRate(OptimizerHelper opt, double lr)
    {
        foreach (var g in opt.ParamGroups) g.LearningRate = lr;
    }
}
