// Specs that Python fills in once at build/compile time: layers, initialisers, optimizers.
#include <map>

#include "common.h"
#include "eigennet/backend.h"
#include "eigennet/model.h"

namespace eigennet::bindings {

void bind_config(py::module_& m) {
  py::class_<LayerSpec>(m, "LayerSpec")
      .def(py::init([](const std::string& kind, std::map<std::string, std::int64_t> ints,
                       std::map<std::string, double> nums, std::map<std::string, std::string> strs,
                       bool trainable) {
             LayerSpec l;
             l.kind = kind;
             l.ints = std::move(ints);
             l.nums = std::move(nums);
             l.strs = std::move(strs);
             l.trainable = trainable;
             return l;
           }),
           py::arg("kind"), py::arg("ints") = std::map<std::string, std::int64_t>{},
           py::arg("nums") = std::map<std::string, double>{},
           py::arg("strs") = std::map<std::string, std::string>{}, py::arg("trainable") = true)
      .def_readwrite("kind", &LayerSpec::kind)
      .def_readwrite("ints", &LayerSpec::ints)
      .def_readwrite("nums", &LayerSpec::nums)
      .def_readwrite("strs", &LayerSpec::strs)
      .def_readwrite("trainable", &LayerSpec::trainable);
  m.def("layer_kinds", &layer_kinds, "The layer kinds the core knows.");

  // A loss by name, with its parameters; a plain name converts to one (Keras's defaults).
  py::class_<LossArgs>(m, "LossSpec")
      .def(py::init([](const std::string& name, double delta, double alpha, double gamma,
                       bool balanced, const std::vector<double>& class_alpha) {
             LossArgs a{LossSpec(loss_from_name(name)), class_alpha};
             a.spec.delta = delta;
             a.spec.alpha = alpha;
             a.spec.gamma = gamma;
             a.spec.balanced = balanced;
             validate(a.spec, class_alpha, static_cast<std::int64_t>(class_alpha.size()));
             return a;
           }),
           py::arg("name"), py::arg("delta") = 1.0, py::arg("alpha") = 0.25, py::arg("gamma") = 2.0,
           py::arg("balanced") = false, py::arg("class_alpha") = std::vector<double>{})
      .def_property_readonly("name", [](const LossArgs& a) { return loss_name(a.spec.kind); })
      .def_property_readonly("delta", [](const LossArgs& a) { return a.spec.delta; })
      .def_property_readonly("alpha", [](const LossArgs& a) { return a.spec.alpha; })
      .def_property_readonly("gamma", [](const LossArgs& a) { return a.spec.gamma; })
      .def_property_readonly("balanced", [](const LossArgs& a) { return a.spec.balanced; })
      .def_readonly("class_alpha", &LossArgs::class_alpha);
  py::implicitly_convertible<py::str, LossArgs>();

  // A metric by name with its parameters (eigennet/metrics.h); a plain name converts to one.
  py::class_<Metric>(m, "Metric")
      .def(
          py::init([](const std::string& name, double threshold, bool argmax, int k,
                      std::vector<double> thresholds, Index num_thresholds,
                      const std::string& spacing, int top_k, Index class_id, bool multi_label,
                      bool from_logits, const std::string& curve,
                      const std::string& summation_method, double value, const std::string& average,
                      double beta, const std::string& class_aggregation, Index num_regressors,
                      bool weighted, std::vector<double> label_weights, bool from_sorted_ids) {
            auto pick = [](const std::string& what, const std::string& v,
                           const std::vector<std::string>& names) {
              for (std::size_t i = 0; i < names.size(); ++i)
                if (names[i] == v) return static_cast<int>(i);
              throw py::value_error("Invalid `" + what + "` argument value \"" + v + "\".");
            };
            Metric mt(metric_from_name(name));
            MetricSpec& s = mt.spec;
            s.threshold = threshold;
            s.argmax = argmax;
            s.k = k;
            s.spacing = static_cast<ThresholdSpacing>(
                pick("spacing", spacing, {"list", "even", "even_with_epsilon"}));
            s.n_thresholds = s.spacing == ThresholdSpacing::List
                                 ? static_cast<Index>(thresholds.size())
                                 : num_thresholds;
            if (s.spacing == ThresholdSpacing::List) mt.thresholds = std::move(thresholds);
            s.top_k = top_k;
            s.class_id = class_id;
            s.multi_label = multi_label;
            s.from_logits = from_logits;
            s.curve = static_cast<AucCurve>(pick("curve", curve, {"ROC", "PR", "PRGAIN"}));
            s.summation = static_cast<AucSummation>(pick(
                "summation_method", summation_method, {"interpolation", "minoring", "majoring"}));
            s.value = value;
            s.average = static_cast<MetricAverage>(
                pick("average", average, {"none", "micro", "macro", "weighted"}));
            s.beta = beta;
            s.aggregation = static_cast<R2Aggregation>(
                pick("class_aggregation", class_aggregation,
                     {"none", "uniform_average", "variance_weighted_average"}));
            s.num_regressors = num_regressors;
            s.label_weighted = !label_weights.empty();
            mt.label_weights = std::move(label_weights);
            s.sorted_ids = from_sorted_ids;
            mt.weighted = weighted;
            return mt;
          }),
          py::arg("name"), py::arg("threshold") = 0.5, py::arg("argmax") = false, py::arg("k") = 5,
          py::arg("thresholds") = std::vector<double>{0.5}, py::arg("num_thresholds") = 0,
          py::arg("spacing") = "list", py::arg("top_k") = 0, py::arg("class_id") = -1,
          py::arg("multi_label") = false, py::arg("from_logits") = false, py::arg("curve") = "ROC",
          py::arg("summation_method") = "interpolation", py::arg("value") = 0.0,
          py::arg("average") = "none", py::arg("beta") = 1.0,
          py::arg("class_aggregation") = "uniform_average", py::arg("num_regressors") = 0,
          py::arg("weighted") = false, py::arg("label_weights") = std::vector<double>{},
          py::arg("from_sorted_ids") = false)
      .def_property_readonly("name", [](const Metric& mt) { return metric_name(mt.spec.kind); })
      .def_readonly("thresholds", &Metric::thresholds)
      .def_readonly("weighted", &Metric::weighted)
      .def(py::init([](const std::string& name) { return Metric(metric_from_name(name)); }));
  py::implicitly_convertible<py::str, Metric>();

  py::class_<NodeSpec>(m, "NodeSpec")
      .def(py::init([](Index layer, std::vector<Index> inputs, int training) {
             return NodeSpec{layer, std::move(inputs), training};
           }),
           py::arg("layer"), py::arg("inputs"), py::arg("training") = -1)
      .def_readonly("training", &NodeSpec::training)
      .def_readonly("layer", &NodeSpec::layer)
      .def_readonly("inputs", &NodeSpec::inputs);

  py::class_<GraphSpec>(m, "GraphSpec")
      .def(py::init([](std::vector<Index> input_widths, std::vector<LayerSpec> layers,
                       std::vector<NodeSpec> nodes, std::vector<Index> outputs) {
             return GraphSpec{std::move(input_widths), std::move(layers), std::move(nodes),
                              std::move(outputs)};
           }),
           py::arg("input_widths"), py::arg("layers"), py::arg("nodes"), py::arg("outputs"))
      .def_static("chain", &GraphSpec::chain, py::arg("n_inputs"), py::arg("layers"))
      .def_readonly("input_widths", &GraphSpec::input_widths)
      .def_readonly("layers", &GraphSpec::layers)
      .def_readonly("nodes", &GraphSpec::nodes)
      .def_readonly("outputs", &GraphSpec::outputs);

  py::class_<Initializer>(m, "Initializer")
      .def(py::init([](const std::string& name, double a, double b, py::object seed,
                       const std::string& mode, const std::string& distribution) {
             Initializer init = Initializer::with(name, a, b, mode, distribution);
             if (!seed.is_none()) {
               init.has_seed = true;
               init.seed = seed.cast<std::uint64_t>();
             }
             return init;
           }),
           py::arg("name"), py::arg("a") = 0.0, py::arg("b") = 0.0, py::arg("seed") = py::none(),
           py::arg("mode") = "fan_in", py::arg("distribution") = "truncated_normal");

  py::class_<Schedule>(m, "Schedule")
      .def(py::init<>())
      .def_property(
          "kind", [](const Schedule& s) { return schedule_name(s.kind); },
          [](Schedule& s, const std::string& k) { s.kind = schedule_from_name(k); })
      .def_readwrite("initial", &Schedule::initial)
      .def_readwrite("decay_steps", &Schedule::decay_steps)
      .def_readwrite("decay_rate", &Schedule::decay_rate)
      .def_readwrite("staircase", &Schedule::staircase)
      .def_readwrite("boundaries", &Schedule::boundaries)
      .def_readwrite("values", &Schedule::values)
      .def_readwrite("end", &Schedule::end)
      .def_readwrite("power", &Schedule::power)
      .def_readwrite("cycle", &Schedule::cycle)
      .def_readwrite("alpha", &Schedule::alpha)
      .def_readwrite("warmup", &Schedule::warmup)
      .def_readwrite("warmup_target", &Schedule::warmup_target)
      .def_readwrite("warmup_steps", &Schedule::warmup_steps)
      .def_readwrite("t_mul", &Schedule::t_mul)
      .def_readwrite("m_mul", &Schedule::m_mul)
      .def("validate", &Schedule::validate)
      .def("at", &Schedule::at);

  py::class_<OptimizerConfig>(m, "OptimizerConfig")
      .def(py::init<>())
      .def_property(
          "kind", [](const OptimizerConfig& c) { return optimizer_name(c.kind); },
          [](OptimizerConfig& c, const std::string& k) { c.kind = optimizer_from_name(k); })
      .def_readwrite("learning_rate", &OptimizerConfig::learning_rate)
      .def_readwrite("momentum", &OptimizerConfig::momentum)
      .def_readwrite("nesterov", &OptimizerConfig::nesterov)
      .def_readwrite("beta_1", &OptimizerConfig::beta_1)
      .def_readwrite("beta_2", &OptimizerConfig::beta_2)
      .def_readwrite("rho", &OptimizerConfig::rho)
      .def_readwrite("epsilon", &OptimizerConfig::epsilon)
      .def_readwrite("initial_accumulator_value", &OptimizerConfig::initial_accumulator_value)
      .def_readwrite("weight_decay", &OptimizerConfig::weight_decay)
      .def_readwrite("clipvalue", &OptimizerConfig::clipvalue)
      .def_readwrite("clipnorm", &OptimizerConfig::clipnorm)
      .def_readwrite("global_clipnorm", &OptimizerConfig::global_clipnorm)
      .def_readwrite("lr_power", &OptimizerConfig::lr_power)
      .def_readwrite("l1", &OptimizerConfig::l1)
      .def_readwrite("l2", &OptimizerConfig::l2)
      .def_readwrite("l2_shrinkage", &OptimizerConfig::l2_shrinkage)
      .def_readwrite("beta", &OptimizerConfig::beta)
      .def_readwrite("amsgrad", &OptimizerConfig::amsgrad)
      .def_readwrite("centered", &OptimizerConfig::centered)
      .def_readwrite("use_ema", &OptimizerConfig::use_ema)
      .def_readwrite("ema_momentum", &OptimizerConfig::ema_momentum)
      .def_readwrite("ema_overwrite_frequency", &OptimizerConfig::ema_overwrite_frequency)
      .def("n_slots", &OptimizerConfig::n_slots)
      .def("rule_slots", &OptimizerConfig::rule_slots)
      .def("slot_initial_value", &OptimizerConfig::slot_initial_value, py::arg("slot"))
      .def("slot_nonnegative", &OptimizerConfig::slot_nonnegative, py::arg("slot"))
      .def("validate", &OptimizerConfig::validate);

  m.def("set_num_threads", &set_num_threads, py::arg("n"));
  m.def("num_threads", &num_threads);
  m.def("kernel_sets", &kernel_sets);
  m.def("kernel_set", &kernel_set);
  m.def("set_kernel_set", &set_kernel_set, py::arg("name"));
  m.def("cuda_available", &cuda_available);
  m.def(
      "set_tf32", [](bool enabled) { cuda_tf32() = enabled; }, py::arg("enabled"));
  m.def("tf32", [] { return cuda_tf32().load(); });
  m.def("has_openmp", [] {
#ifdef _OPENMP
    return true;
#else
    return false;
#endif
  });
}

}  // namespace eigennet::bindings
