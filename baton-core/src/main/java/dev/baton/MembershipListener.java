package dev.baton;

/**
 * Told about membership changes. Called on the node's event thread, one event at a time in version order;
 * a slow listener delays the next notification but never the data path.
 */
@FunctionalInterface
public interface MembershipListener {
    void onChange(MembershipEvent event, Membership membership);
}
