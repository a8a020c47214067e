#!/bin/sh
# collectd NotificationExec hook for make bench: publishes each threshold
# notification to MQTT as cdnotify/COLLECTD/HOST/PLUGIN_INSTANCE = SEVERITY,
# so the threshold plugin's alarm reaches an MQTT subscriber.
#   cd-notify.sh MQTT_PORT COLLECTD_NAME   (notification on stdin, collectd-exec(5))
sev=""; host=""; inst=""
while IFS= read -r l; do
    [ -z "$l" ] && break
    case "$l" in
        Severity:*) sev=${l#Severity: } ;;
        Host:*) host=${l#Host: } ;;
        PluginInstance:*) inst=${l#PluginInstance: } ;;
    esac
done
exec mosquitto_pub -h 127.0.0.1 -p "$1" -q 0 -t "cdnotify/$2/$host/$inst" -m "$sev"
