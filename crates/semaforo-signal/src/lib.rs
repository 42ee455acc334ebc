//! Signal control: phases, intervals, the controller state machine and its conflict monitor.
